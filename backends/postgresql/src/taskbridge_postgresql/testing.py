"""Test support for the PostgreSQL store, registered in the ``taskbridge.testing`` entry-point
group: the store contract suite's PostgreSQL target, the conformance URL that keeps an engine's
records in PostgreSQL, and dropping a test namespace's schema.

Tests use the server ``$TASKBRIDGE_TEST_POSTGRESQL_URL`` names (default: the local server as
``postgres``), in a database of their own, ``tbtest_<random>``, created once per test run (a
process that finds none exported by its parent creates one) and dropped when that process exits.
A test that needs a database no one has used gets one from :func:`create_database` (the
``new_database_url`` fixture of ``taskbridge_postgresql.fixtures``).
"""

from __future__ import annotations

import atexit
import functools
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from taskbridge import hookimpl
from taskbridge.plugin import BackendURL, redact

#: The server tests may create databases on (any database of it: the URL's is only connected to).
ENV_SERVER = "TASKBRIDGE_TEST_POSTGRESQL_URL"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
#: The URL of this run's test database, exported for the processes the run starts.
ENV_DATABASE = "TASKBRIDGE_TEST_POSTGRESQL_DATABASE"
TEST_PREFIX = "tbtest"


def server_url() -> str:
    """The test server's URL."""
    return os.environ.get(ENV_SERVER) or DEFAULT_SERVER


def database_url_on(server: str, database: str) -> str:
    """The URL of ``database`` on the server at ``server``."""
    return urlunsplit(urlsplit(server)._replace(path=f"/{database}"))


@functools.cache
def test_database_url() -> str:
    """A database of this test run's own (created now, or by the process that started this
    one); ``RuntimeError`` saying why when no server answers."""
    exported = os.environ.get(ENV_DATABASE)
    if exported:
        return exported
    server = server_url()
    database = create_database(server)
    url = database_url_on(server, database)
    atexit.register(drop_database, server, database)
    os.environ[ENV_DATABASE] = url
    return url


def create_database(server: str, label: str = "") -> str:
    """Create an empty database ``tbtest[_label]_<random>`` on ``server`` and return its name
    (drop it with :func:`drop_database`); ``RuntimeError`` saying why when the server does not
    answer or does not let tests create one."""
    import psycopg

    database = "_".join(filter(None, (TEST_PREFIX, label, uuid.uuid4().hex[:12])))
    try:
        with psycopg.connect(server, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
    except psycopg.Error as exc:
        raise RuntimeError(
            f"no PostgreSQL server lets tests create a database at {redact(server)} "
            f"({type(exc).__name__}: {exc}); start one or set {ENV_SERVER}"
        ) from exc
    return database


def drop_database(server: str, database: str) -> None:
    """Drop a test database, closing the connections still open on it."""
    import psycopg

    with psycopg.connect(server, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


test_database_url.__test__ = False  # type: ignore[attr-defined]


@hookimpl
def taskbridge_store_targets() -> list[tuple[str, Callable[[], str]]]:
    """PostgreSQL, in this run's test database (each test in a schema of its own)."""
    return [("postgresql", test_database_url)]


@hookimpl
def taskbridge_delete_test_namespace(url: str, namespace: str, queues: list[str]) -> None:
    """Drop the schema a test namespace's records were kept in, when ``?store=`` is ours."""
    store = BackendURL.parse(url).options.get("store", "")
    if not store.startswith(("postgresql://", "postgres://")):
        return
    from taskbridge_postgresql.factory import parse
    from taskbridge_postgresql.schema import Tables

    conninfo, schema = parse(store, namespace)
    Tables(schema).drop(conninfo)


@hookimpl
def taskbridge_conformance_urls(redis_url: str, workdir: Path) -> list[str]:
    """RQ (when installed) with its records in PostgreSQL: forking workers, and a test
    namespace's schema dropped after the run. With no server to create a database on, the URL
    names the server's own, and the suite skips it, saying why, when nothing answers there."""
    from taskbridge.plugin import installed_engines

    if "rq" not in installed_engines():
        return []
    try:
        store = test_database_url()
    except RuntimeError:
        store = server_url()
    return [f"rq+{redis_url}?store={quote(store, safe=':/@')}"]
