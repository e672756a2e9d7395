"""``postgresql://user:password@host:5432/db?namespace=app`` (or ``postgres://``): the store by
URL. The URL is libpq's, so its options (``sslmode=require``, ``application_name=``...) pass
through; ``namespace`` names the schema the store's tables live in (default: the engine URL's
namespace, else ``taskbridge``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from taskbridge import ConfigurationError
from taskbridge.plugin import redact

if TYPE_CHECKING:
    from taskbridge_postgresql.store import PostgreSQLStore

DEFAULT_SCHEMA = "taskbridge"


def parse(url: str, namespace: str | None = None) -> tuple[str, str]:
    """The libpq connection string a store URL names (without ``namespace``), and the schema."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ConfigurationError(
            f"store URL {redact(url)!r}: expected postgresql://user@host:5432/database"
        )
    query = parse_qsl(parts.query, keep_blank_values=True)
    namespaces = [value for name, value in query if name == "namespace"]
    schema = namespaces[-1] if namespaces else (namespace or DEFAULT_SCHEMA)
    rest = urlencode([(name, value) for name, value in query if name != "namespace"])
    conninfo = urlunsplit(parts._replace(query=rest))
    try:
        conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError as exc:
        raise ConfigurationError(
            f"store URL {redact(url)!r} is not a valid PostgreSQL URL: {exc}; expected "
            "postgresql://user:password@host:5432/database?namespace=app"
        ) from exc
    return conninfo, schema


def location(conninfo: str, schema: str) -> str:
    """Where a store is, for messages: the redacted URL and the schema."""
    return f"{redact(conninfo)!r} (schema {schema!r})"


def postgresql_store(url: str, *, namespace: str | None = None) -> PostgreSQLStore:
    """The store factory behind the ``postgresql`` and ``postgres`` schemes."""
    from taskbridge_postgresql.store import PostgreSQLStore

    conninfo, schema = parse(url, namespace)
    return PostgreSQLStore(conninfo, schema=schema, location=location(conninfo, schema))


@contextmanager
def isolated(url: str, scratch: Path) -> Iterator[str]:
    """For the store contract suite: the URL of an empty store like ``url``'s, in a schema of
    its own in the same database, dropped with everything in it on exit."""
    from taskbridge_postgresql.schema import Tables

    conninfo, _ = parse(url)
    schema = f"tbtest_{uuid.uuid4().hex[:16]}"
    parts = urlsplit(conninfo)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("namespace", schema)]
    try:
        yield urlunsplit(parts._replace(query=urlencode(query)))
    finally:
        Tables(schema).drop(conninfo)


def _attach(factory: Any) -> None:
    factory.isolated = isolated


_attach(postgresql_store)
