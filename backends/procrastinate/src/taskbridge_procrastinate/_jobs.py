"""Procrastinate's job rows for taskbridge envelopes: the schema, the defer statement, the reads.

A taskbridge execution is one row of ``procrastinate_jobs``: its ``task_name`` is the taskbridge
task's (so Procrastinate's admin and CLI list jobs by task), its ``queue_name`` is
``<namespace>.<queue>`` (shortened, see :func:`queue_name`), its ``priority`` and
``scheduled_at`` are the envelope's, and its ``args`` are
``{"id": <execution id>, "envelope": <the envelope's JSON text>}``. The envelope is kept as
text, not as a JSON object: ``jsonb`` would reorder its keys and parse it without the
depth limit the worker applies (``Envelope.loads``).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from taskbridge import ConfigurationError
from taskbridge.plugin import Envelope, Statement, dumps_json

#: Procrastinate's ``task_name`` column is ``varchar(128)``.
NAME_LIMIT = 128
#: Procrastinate notifies workers on the channel ``procrastinate_queue_v1#<queue_name>``, and
#: PostgreSQL's channel names have at most 63 bytes: longer queue names fail every defer.
QUEUE_LIMIT = 63 - len("procrastinate_queue_v1#")
#: Characters of a shortened queue name's digest (after a ``~``).
_DIGEST = 10

#: One job row, through Procrastinate's own defer function (as ``defer`` calls it).
DEFER = (
    "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW(%s::varchar, %s::varchar, %s::integer,"
    " NULL, NULL, %s::jsonb, to_timestamp(%s::double precision))"
    "::procrastinate_job_to_defer_v1])"
)

#: Jobs waiting on a queue now: ``todo`` and due (the rows ``procrastinate_fetch_job`` takes).
DEPTH = (
    "SELECT count(*) FROM procrastinate_jobs WHERE queue_name = %s AND status = 'todo'"
    " AND (scheduled_at IS NULL OR scheduled_at <= now())"
)

#: Procrastinate's cancel of an execution's jobs: ``todo`` ones become ``cancelled``, a
#: ``doing`` one gets its abort requested (``procrastinate_cancel_job_v1`` with ``abort``).
CANCEL = (
    "SELECT procrastinate_cancel_job_v1(id, true, false) FROM procrastinate_jobs"
    " WHERE status IN ('todo', 'doing') AND args->>'id' = %s"
)

#: The key the schema's creation takes turns on, across processes (any fixed number).
_SCHEMA_LOCK = 0x7A5B_0001


def queue_name(namespace: str, queue: str) -> str:
    """Procrastinate's queue for a taskbridge queue of ``namespace``: ``<namespace>.<queue>``,
    or, past :data:`QUEUE_LIMIT` characters, its beginning, ``~`` and a digest of the whole
    (``taskbridge.a-very-long-queu~3f9a0c2b71``), so every name stays distinct."""
    name = f"{namespace}.{queue}"  # ASCII: both are checked against [A-Za-z0-9_.-]
    if len(name) <= QUEUE_LIMIT:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:_DIGEST]
    return f"{name[:QUEUE_LIMIT - _DIGEST - 1]}~{digest}"


def defer(envelope: Envelope, namespace: str) -> Statement:
    """The statement that puts ``envelope``'s job on its queue."""
    if len(envelope.task_name) > NAME_LIMIT:
        raise ConfigurationError(
            f"task name {envelope.task_name!r} is longer than Procrastinate's {NAME_LIMIT} "
            "characters; register the task under a shorter name= for procrastinate+postgresql"
        )
    args = dumps_json({"id": envelope.id, "envelope": envelope.dumps()})
    return (DEFER, (queue_name(namespace, envelope.queue), envelope.task_name,
                    envelope.priority, args, envelope.run_at))


def apply_schema(conn: psycopg.Connection[Any]) -> None:
    """Create Procrastinate's schema (tables, types, functions) unless the database has it.

    Producers and workers starting together take turns on an advisory lock, so it is created
    once. A database that already has it (``procrastinate schema --apply``, or an application
    already on Procrastinate) is left as it is: its migrations are Procrastinate's business.
    """
    from procrastinate.schema import SchemaManager

    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        found = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
        if found is None or found[0] is None:
            conn.execute(SchemaManager.get_schema())


class Connection:
    """One autocommit connection of this process to the jobs' database, opened on first use,
    reopened in a forked child and after the server closed it; calls take turns on it."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._conn: psycopg.Connection[Any] | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._schema_ready = False

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        if self._pid != os.getpid():  # a child's copy: the parent's socket is not ours
            self._conn, self._pid, self._lock = None, os.getpid(), threading.Lock()
        with self._lock:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5)
            try:
                yield self._conn
            except psycopg.OperationalError:
                self._conn.close()
                self._conn = None
                raise

    def ensure_schema(self) -> None:
        """Procrastinate's schema, created on this process's first use when missing."""
        if not self._schema_ready:
            with self._connection() as conn:
                apply_schema(conn)
            self._schema_ready = True

    def run(self, statements: list[Statement]) -> None:
        """Run ``statements`` in one transaction."""
        self.ensure_schema()
        with self._connection() as conn, conn.transaction():
            for sql, params in statements:
                conn.execute(sql, params)

    def one(self, sql: str, params: tuple[Any, ...]) -> Any:
        """The first column of the first row ``sql`` returns."""
        self.ensure_schema()
        with self._connection() as conn:
            row = conn.execute(sql, params).fetchone()
            return None if row is None else row[0]

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None and self._pid == os.getpid():
            conn.close()
