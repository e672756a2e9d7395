"""The run's own PostgreSQL database for the Procrastinate benchmarks: created on
127.0.0.1:5432 (or ``--postgresql-url``'s server) when a backend needs it, given
Procrastinate's schema, dropped at the end."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
PREFIX = "tbbench"


def create_database(server: str = DEFAULT_SERVER) -> tuple[str | None, str]:
    """A fresh ``tbbench_<random>`` database with Procrastinate's schema applied: its URL, or
    None and why not (no server answered, or it refused)."""
    import psycopg

    database = f"{PREFIX}_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(server, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
    except psycopg.Error as exc:
        return None, (f"no PostgreSQL lets the benchmark create a database at "
                      f"{_redact(server)} ({type(exc).__name__}: {str(exc).strip()}); start "
                      "one or pass --postgresql-url")
    url = urlunsplit(urlsplit(server)._replace(path=f"/{database}"))
    try:
        _apply_procrastinate_schema(url)
    except Exception:
        drop_database(url)
        raise
    return url, f"database {database}"


def _apply_procrastinate_schema(url: str) -> None:
    """Procrastinate's own schema, as ``procrastinate schema --apply`` would (the taskbridge
    side finds it there and leaves it)."""
    from procrastinate import App, SyncPsycopgConnector

    app = App(connector=SyncPsycopgConnector(conninfo=url))
    with app.open():
        app.schema_manager.apply_schema()


def drop_database(url: str) -> None:
    """Drop the run's database, closing the connections still open on it."""
    import psycopg

    parts = urlsplit(url)
    database = parts.path.lstrip("/")
    if not database.startswith(PREFIX + "_"):
        raise ValueError(f"refusing to drop {database!r}: not a benchmark database")
    server = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))
