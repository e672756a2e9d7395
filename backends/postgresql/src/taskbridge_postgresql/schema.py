"""The PostgreSQL store's tables and indexes, in one schema per namespace, created on first use."""

from __future__ import annotations

import psycopg

from taskbridge import ConfigurationError

#: PostgreSQL cuts identifiers longer than this (in bytes) silently: two namespaces would meet.
MAX_IDENTIFIER = 63

_TABLES = """
CREATE TABLE IF NOT EXISTS {s}.records (
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    task_name TEXT NOT NULL,
    queue TEXT NOT NULL,
    enqueued_at DOUBLE PRECISION NOT NULL,
    finished_at DOUBLE PRECISION,
    idempotency_key TEXT,
    retried_as TEXT,
    heartbeat_at DOUBLE PRECISION,
    discarded_at DOUBLE PRECISION,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_status ON {s}.records (status, enqueued_at);
CREATE INDEX IF NOT EXISTS records_task ON {s}.records (task_name, enqueued_at);
CREATE INDEX IF NOT EXISTS records_queue ON {s}.records (queue, enqueued_at);
CREATE INDEX IF NOT EXISTS records_enqueued ON {s}.records (enqueued_at);
CREATE INDEX IF NOT EXISTS records_heartbeat ON {s}.records (heartbeat_at)
    WHERE status = 'RUNNING';
CREATE INDEX IF NOT EXISTS records_finished ON {s}.records (status, finished_at);
CREATE TABLE IF NOT EXISTS {s}.claims (key TEXT PRIMARY KEY, record_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS {s}.schedules (name TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS {s}.workers (
    id TEXT PRIMARY KEY, info TEXT NOT NULL, expires_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS {s}.leases (
    key TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS leases_expiry ON {s}.leases (expires_at);
CREATE INDEX IF NOT EXISTS records_task_status ON {s}.records (task_name, status, enqueued_at);
CREATE INDEX IF NOT EXISTS records_queue_status ON {s}.records (queue, status, enqueued_at);
"""
#: Created last: when it exists, everything above does (a schema made before it gets the
#: rest once).
_LAST = "records_queue_status"


def quoted(identifier: str) -> str:
    """``identifier`` as a quoted SQL identifier."""
    return '"' + identifier.replace('"', '""') + '"'


def checked_schema(namespace: str) -> str:
    """The schema a namespace's tables live in (the namespace itself), or a
    ``ConfigurationError`` saying why it cannot be one."""
    if not namespace or "\x00" in namespace or len(namespace.encode()) > MAX_IDENTIFIER:
        raise ConfigurationError(
            f"namespace {namespace!r} cannot name a PostgreSQL schema: use 1 to "
            f"{MAX_IDENTIFIER} bytes (e.g. ?namespace=myapp)"
        )
    return namespace


class Tables:
    """The quoted names of one schema's tables, and their creation."""

    def __init__(self, schema: str) -> None:
        self.schema = checked_schema(schema)
        s = quoted(self.schema)
        self.records = f"{s}.records"
        self.claims = f"{s}.claims"
        self.schedules = f"{s}.schedules"
        self.workers = f"{s}.workers"
        self.leases = f"{s}.leases"

    def create(self, conninfo: str) -> None:
        """Create the schema, tables and indexes that do not exist yet.

        On a connection of its own (a pool would make a server that does not answer wait out
        its timeout, where this says at once why it cannot connect), skipped when everything
        exists: DDL takes locks that would wait for every open transaction on the tables.
        Processes creating one schema at once take turns on an advisory lock (concurrent
        ``CREATE ... IF NOT EXISTS`` of one name can fail).
        """
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
            last = f"{quoted(self.schema)}.{_LAST}"
            if conn.execute("SELECT to_regclass(%s)", (last,)).fetchone() != (None,):
                return
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                             (f"taskbridge schema {self.schema}",))
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted(self.schema)}")
                for statement in _TABLES.split(";"):
                    if statement.strip():
                        conn.execute(statement.format(s=quoted(self.schema)))

    def drop(self, conninfo: str) -> None:
        """Drop the schema and everything in it."""
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {quoted(self.schema)} CASCADE")
