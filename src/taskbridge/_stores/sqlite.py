"""A state store in one SQLite file, safe for many threads and processes on one machine."""

from __future__ import annotations

import builtins
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from taskbridge import _json
from taskbridge._errors import EnqueueError
from taskbridge._record import Record
from taskbridge._status import Status
from taskbridge._stores.base import RecordFilter
from taskbridge._stores.sql import (
    sql_count_by_status,
    sql_insert_record,
    sql_update_record,
    sql_where,
)
from taskbridge._stores.sqlite_connection import Connections, checked_path
from taskbridge._stores.transactional import TransactionalStore
from taskbridge._transitions import Lease

#: An SQL statement and its parameters: the SQLite store's native write (``create(writes=)``).
Statement = tuple[str, Sequence[Any]]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    task_name TEXT NOT NULL,
    queue TEXT NOT NULL,
    enqueued_at REAL NOT NULL,
    finished_at REAL,
    idempotency_key TEXT,
    retried_as TEXT,
    heartbeat_at REAL,
    data TEXT NOT NULL,
    discarded_at REAL
);
CREATE INDEX IF NOT EXISTS records_status ON records (status, enqueued_at);
CREATE INDEX IF NOT EXISTS records_task ON records (task_name, enqueued_at);
CREATE INDEX IF NOT EXISTS records_queue ON records (queue, enqueued_at);
CREATE INDEX IF NOT EXISTS records_task_status ON records (task_name, status, enqueued_at);
CREATE INDEX IF NOT EXISTS records_queue_status ON records (queue, status, enqueued_at);
CREATE INDEX IF NOT EXISTS records_heartbeat ON records (status, heartbeat_at);
CREATE INDEX IF NOT EXISTS records_enqueued ON records (enqueued_at);
CREATE INDEX IF NOT EXISTS records_finished ON records (finished_at);
CREATE INDEX IF NOT EXISTS records_status_finished ON records (status, finished_at);
CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, record_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS claims_record ON claims (record_id);
CREATE TABLE IF NOT EXISTS schedules (name TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS workers (id TEXT PRIMARY KEY, info TEXT NOT NULL, expires_at REAL);
CREATE TABLE IF NOT EXISTS leases (key TEXT PRIMARY KEY, holder TEXT NOT NULL,
                                   expires_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS leases_expiry ON leases (expires_at);
"""
#: Columns added to ``records`` since its first release, added to older databases on open.
_ADDED_COLUMNS = {"discarded_at": "REAL"}


class _Transaction:
    """The store's primitives on a connection inside ``BEGIN IMMEDIATE``."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def load(self, id: str) -> Record | None:
        row = self.conn.execute("SELECT data FROM records WHERE id = ?", (id,)).fetchone()
        return None if row is None else Record.loads(row[0])

    def insert(self, record: Record) -> None:
        self.conn.execute(*sql_insert_record("records", record))

    def save(self, record: Record) -> None:
        self.conn.execute(*sql_update_record("records", record))

    def delete(self, id: str) -> None:
        self.conn.execute("DELETE FROM records WHERE id = ?", (id,))

    def claim(self, key: str) -> str | None:
        row = self.conn.execute("SELECT record_id FROM claims WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_claim(self, key: str, id: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO claims (key, record_id) VALUES (?, ?)",
                          (key, id))

    def release_claim(self, key: str, id: str) -> None:
        self.conn.execute("DELETE FROM claims WHERE key = ? AND record_id = ?", (key, id))

    def finished(self, status: Status, until: float, limit: int) -> list[Record]:
        # Two index ranges on (status, finished_at); NULL sorts first, as in "oldest first".
        rows = self.conn.execute(
            "SELECT data FROM records WHERE status = ? AND finished_at IS NULL LIMIT ?",
            (status.value, limit),
        ).fetchall()
        rows += self.conn.execute(
            "SELECT data FROM records WHERE status = ? AND finished_at <= ?"
            " ORDER BY finished_at LIMIT ?",
            (status.value, until, limit - len(rows)),
        ).fetchall()
        return [Record.loads(data) for (data,) in rows]

    def lease(self, key: str) -> Lease | None:
        row = self.conn.execute(
            "SELECT holder, expires_at FROM leases WHERE key = ?", (key,)
        ).fetchone()
        return None if row is None else Lease(str(row[0]), float(row[1]))

    def set_lease(self, key: str, lease: Lease) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO leases (key, holder, expires_at) VALUES (?, ?, ?)",
            (key, lease.holder, lease.expires_at),
        )

    def delete_lease(self, key: str) -> None:
        self.conn.execute("DELETE FROM leases WHERE key = ?", (key,))

    def drop_leases(self, until: float) -> None:
        self.conn.execute("DELETE FROM leases WHERE expires_at <= ?", (until,))

    def write(self, writes: Sequence[Any]) -> None:
        statements: Sequence[Statement] = writes
        for sql, params in statements:
            self.conn.execute(sql, params)


class SQLiteStore(TransactionalStore):
    """Records, claims, schedules and workers in the SQLite database at ``path``.

    Every change runs in a ``BEGIN IMMEDIATE`` transaction; native writes (``create(writes=)``,
    ``write``) are :data:`Statement` s run in that transaction.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = checked_path(path)
        self.location = repr(str(self.path.absolute()))
        # Opened by absolute path, resolved now: a process that changes directory later (a
        # worker's own chdir) keeps the same file in every thread's connection.
        self.connections = Connections(self.path.absolute())
        # executescript would commit any open transaction, so statements run one by one.
        with self.connections.write() as conn:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            have = {row[1] for row in conn.execute("PRAGMA table_info(records)")}
            for column, kind in _ADDED_COLUMNS.items():
                if column not in have:
                    conn.execute(f"ALTER TABLE records ADD COLUMN {column} {kind}")

    @contextmanager
    def transaction(self) -> Iterator[_Transaction]:
        with self.connections.write() as conn:
            yield _Transaction(conn)

    def _read(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.connections.get().execute(sql, params)

    # -- reads -------------------------------------------------------------------------------

    def get_many(self, ids: Sequence[str]) -> list[Record | None]:
        found: dict[str, Record] = {}
        # Chunks stay under SQLite's limit on query parameters.
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            for (data,) in self._read(f"SELECT data FROM records WHERE id IN ({marks})", chunk):
                record = Record.loads(data)
                found[record.id] = record
        return [found.get(id) for id in ids]

    def stale(self, *, before: float, limit: int = 100) -> list[Record]:
        rows = self._read(
            "SELECT data FROM records WHERE status = 'RUNNING'"
            " AND (heartbeat_at < ? OR heartbeat_at IS NULL) LIMIT ?",
            (before, limit),
        )
        return [Record.loads(data) for (data,) in rows]

    @staticmethod
    def _where(filter: RecordFilter) -> tuple[str, builtins.list[Any]]:
        return sql_where(filter, param="?")

    def list(self, filter: RecordFilter, *, limit: int = 100, offset: int = 0) -> list[Record]:
        where, params = self._where(filter)
        # rowid breaks ties in insertion order, as the memory store's stable sort does.
        rows = self._read(
            f"SELECT data FROM records{where} ORDER BY enqueued_at DESC, rowid ASC"
            " LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [Record.loads(data) for (data,) in rows]

    def count(self, filter: RecordFilter) -> int:
        where, params = self._where(filter)
        return int(self._read(f"SELECT COUNT(*) FROM records{where}", params).fetchone()[0])

    def count_by_status(self, filter: RecordFilter) -> dict[Status, int]:
        """``count`` for every status at once: one pass over the matching index range."""
        return sql_count_by_status(self._read, "records", filter)

    # -- schedules and workers -----------------------------------------------------------------

    def put_schedule(self, name: str, data: dict[str, Any]) -> None:
        with self.connections.write() as conn:
            conn.execute("INSERT OR REPLACE INTO schedules (name, data) VALUES (?, ?)",
                         (name, _json.dumps(data)))

    def get_schedule(self, name: str) -> dict[str, Any] | None:
        row = self._read("SELECT data FROM schedules WHERE name = ?", (name,)).fetchone()
        return None if row is None else dict(_json.loads(row[0]))

    def list_schedules(self) -> dict[str, dict[str, Any]]:
        rows = self._read("SELECT name, data FROM schedules")
        return {name: dict(_json.loads(data)) for name, data in rows}

    def delete_schedule(self, name: str) -> bool:
        with self.connections.write() as conn:
            return conn.execute("DELETE FROM schedules WHERE name = ?", (name,)).rowcount > 0

    def register_worker(self, worker_id: str, info: dict[str, Any], *, ttl: float) -> None:
        now = time.time()
        with self.connections.write() as conn:
            conn.execute("DELETE FROM workers WHERE expires_at <= ?", (now,))
            conn.execute(
                "INSERT OR REPLACE INTO workers (id, info, expires_at) VALUES (?, ?, ?)",
                (worker_id, _json.dumps(info), now + ttl),
            )

    def unregister_worker(self, worker_id: str) -> None:
        with self.connections.write() as conn:
            conn.execute("DELETE FROM workers WHERE id = ?", (worker_id,))

    def workers(self) -> builtins.list[dict[str, Any]]:
        rows = self._read("SELECT id, info FROM workers WHERE expires_at > ?", (time.time(),))
        return [dict(_json.loads(info), id=id) for id, info in rows]

    def ping(self) -> None:
        try:
            self._read("SELECT COUNT(*) FROM schedules").fetchone()
        except sqlite3.Error as exc:
            raise EnqueueError(
                f"cannot use the SQLite store at {str(self.path)!r}: {exc}; check that the file "
                "is readable and writable and not on a network file system"
            ) from exc

    def close(self) -> None:
        self.connections.close()
