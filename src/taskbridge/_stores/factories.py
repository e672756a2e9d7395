"""The stores the core ships, by URL scheme (its ``taskbridge_stores`` hook implementation).

==================================================  =============================================
``memory://``                                       a fresh in-process store
``redis://host:6379/0?namespace=app``               Redis; keys under ``app:`` (default
                                                    ``taskbridge``); ``rediss://`` for TLS
``sqlite:///relative.db``, ``sqlite:////abs.db``    an SQLite file (relative to the working
                                                    directory, or absolute)
==================================================  =============================================

Factories import their driver when called, so registering them costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from taskbridge._config import redact
from taskbridge._errors import ConfigurationError
from taskbridge._hooks import hookimpl

if TYPE_CHECKING:
    from taskbridge._stores.base import StateStore, StoreFactory


def memory_store(url: str, *, namespace: str | None = None) -> StateStore:
    """``memory://``: a new, empty store private to this process."""
    from taskbridge._stores.memory import MemoryStore

    if url.rstrip("/") != "memory:":
        raise ConfigurationError(f"store URL {redact(url)!r}: the memory store takes no "
                                 "host, path or options; use 'memory://'")
    return MemoryStore()


def redis_store(url: str, *, namespace: str | None = None) -> StateStore:
    """``redis://`` / ``rediss://``: redis-py's URL, plus ``namespace`` (the key prefix; else
    the engine URL's, else ``taskbridge``)."""
    from taskbridge._stores.redis import RedisStore

    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    namespaces = [value for name, value in query if name == "namespace"]
    namespace = namespaces[-1] if namespaces else (namespace or "taskbridge")
    if not namespace or any(c.isspace() for c in namespace):
        raise ConfigurationError(
            f"store URL {redact(url)!r}: namespace {namespace!r} must be a non-empty key prefix "
            "without spaces, e.g. ?namespace=myapp"
        )
    rest = urlencode([(name, value) for name, value in query if name != "namespace"])
    try:
        return RedisStore(urlunsplit(parts._replace(query=rest)), namespace=namespace)
    except ValueError as exc:
        raise ConfigurationError(f"store URL {redact(url)!r} is malformed: {exc}") from exc


def sqlite_store(url: str, *, namespace: str | None = None) -> StateStore:
    """``sqlite:///relative/x.db`` (working directory) or ``sqlite:////absolute/x.db``."""
    from taskbridge._stores.sqlite import SQLiteStore

    rest = url.removeprefix("sqlite://")
    if not rest.startswith("/") or rest == "/" or "?" in rest:
        raise ConfigurationError(
            f"store URL {redact(url)!r}: expected sqlite:///relative/path.db or "
            "sqlite:////absolute/path.db (no host, no options)"
        )
    return SQLiteStore(rest[1:])


@hookimpl
def taskbridge_stores() -> dict[str, StoreFactory]:
    factories: dict[str, Any] = {
        "memory": memory_store,
        "redis": redis_store,
        "rediss": redis_store,
        "sqlite": sqlite_store,
    }
    return factories
