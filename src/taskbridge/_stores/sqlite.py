"""A state store in one SQLite file, safe for many threads and processes on one machine."""

from __future__ import annotations

import builtins
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs

from taskbridge import _json
from taskbridge._errors import ConfigurationError, EnqueueError, ResultNotFound
from taskbridge._record import ErrorInfo, Record
from taskbridge._status import FINAL, WAITING, Status
from taskbridge._stores.base import RecordFilter

#: An SQL statement and its parameters, run inside a store transaction.
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
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_status ON records (status, enqueued_at);
CREATE INDEX IF NOT EXISTS records_task ON records (task_name, enqueued_at);
CREATE INDEX IF NOT EXISTS records_queue ON records (queue, enqueued_at);
CREATE INDEX IF NOT EXISTS records_heartbeat ON records (status, heartbeat_at);
CREATE INDEX IF NOT EXISTS records_enqueued ON records (enqueued_at);
CREATE INDEX IF NOT EXISTS records_finished ON records (finished_at);
CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, record_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS claims_record ON claims (record_id);
CREATE TABLE IF NOT EXISTS schedules (name TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS workers (id TEXT PRIMARY KEY, info TEXT NOT NULL, expires_at REAL);
"""

_BUSY_TIMEOUT = 30.0
_FINAL_SQL = ", ".join(f"'{s.value}'" for s in sorted(FINAL))


def _holds_claim(owner: Record | None, now: float, idempotency_ttl: float) -> bool:
    """The rule of ``StateStore``: is the claim pointing at ``owner`` still live?"""
    if owner is None or not owner.status.holds_idempotency_key:
        return False
    return owner.status is not Status.SUCCEEDED or (owner.finished_at or 0) + idempotency_ttl > now


def _forget_in_forked_children(store: SQLiteStore) -> None:
    """Reset ``store``'s connections in a forked child, while it has only one thread."""
    ref = weakref.ref(store)

    def reset() -> None:
        alive = ref()
        if alive is not None:
            alive._forget_connections()

    os.register_at_fork(after_in_child=reset)


class SQLiteStore:
    """Records, claims, schedules and workers in the SQLite database at ``path``.

    WAL journal and a 30 s busy timeout let processes share the file; every change runs in a
    ``BEGIN IMMEDIATE`` transaction. Each thread gets its own connection, reopened after a fork.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        if str(path) == ":memory:" or str(path).startswith("file::memory:"):
            raise ConfigurationError(
                f"SQLiteStore({str(path)!r}): an in-memory database is private to one "
                "connection; give a file path (or use the memory store for tests)"
            )
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise ConfigurationError(
                f"SQLite store path {str(self.path)!r}: directory {str(self.path.parent)!r} "
                "does not exist; create it or choose a path in an existing directory"
            )
        self._forget_connections()
        _forget_in_forked_children(self)
        conn = self._connection()
        conn.execute("PRAGMA journal_mode=WAL")
        # executescript would commit any open transaction, so statements run one by one.
        with self._write() as conn:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)

    def _forget_connections(self) -> None:
        """Drop (without closing) every connection: a forked child must not use its parent's."""
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[sqlite3.Connection] = []
        self._pid = os.getpid()

    def _connection(self) -> sqlite3.Connection:
        if self._pid != os.getpid():
            self._forget_connections()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=_BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
            )
            conn.execute(f"PRAGMA busy_timeout={int(_BUSY_TIMEOUT * 1000)}")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._lock:
                self._opened.append(conn)
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: the write lock is taken before anything is read."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # -- records ---------------------------------------------------------------------------

    @staticmethod
    def _load(conn: sqlite3.Connection, id: str) -> Record | None:
        row = conn.execute("SELECT data FROM records WHERE id = ?", (id,)).fetchone()
        return None if row is None else Record.loads(row[0])

    @staticmethod
    def _save(conn: sqlite3.Connection, record: Record) -> None:
        conn.execute(
            "UPDATE records SET status = ?, finished_at = ?, retried_as = ?, heartbeat_at = ?, "
            "data = ? WHERE id = ?",
            (record.status.value, record.finished_at, record.retried_as, record.heartbeat_at,
             record.dumps(), record.id),
        )

    @staticmethod
    def _release(conn: sqlite3.Connection, record: Record) -> None:
        if record.idempotency_key:
            conn.execute("DELETE FROM claims WHERE key = ? AND record_id = ?",
                         (record.idempotency_key, record.id))

    def create(
        self,
        records: Sequence[Record],
        *,
        now: float,
        idempotency_ttl: float,
        writes: Mapping[str, Sequence[Statement]] | None = None,
    ) -> list[Record]:
        """``StateStore.create``; ``writes`` (SQL statements, by record id) run in the same
        transaction for the records actually stored, so a backend keeping its messages in this
        database (Huey on SQLite) stores record, claim and message in one commit."""
        out: list[Record] = []
        with self._write() as conn:
            for record in records:
                key = record.idempotency_key
                if key:
                    row = conn.execute("SELECT record_id FROM claims WHERE key = ?",
                                       (key,)).fetchone()
                    owner = self._load(conn, row[0]) if row else None
                    if owner is not None and _holds_claim(owner, now, idempotency_ttl):
                        out.append(attrs.evolve(owner, deduplicated=True))
                        continue
                    conn.execute("INSERT OR REPLACE INTO claims (key, record_id) VALUES (?, ?)",
                                 (key, record.id))
                conn.execute(
                    "INSERT INTO records (id, status, task_name, queue, enqueued_at, finished_at,"
                    " idempotency_key, retried_as, heartbeat_at, data)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (record.id, record.status.value, record.task_name, record.queue,
                     record.enqueued_at, record.finished_at, key, record.retried_as,
                     record.heartbeat_at, record.dumps()),
                )
                for sql, params in (writes or {}).get(record.id, ()):
                    conn.execute(sql, params)
                out.append(record)
        return out

    def write(self, writes: Sequence[Statement]) -> None:
        """Run SQL statements in one transaction."""
        with self._write() as conn:
            for sql, params in writes:
                conn.execute(sql, params)

    def discard(self, ids: Sequence[str]) -> None:
        with self._write() as conn:
            for id in ids:
                record = self._load(conn, id)
                if record is not None and record.status is Status.PENDING:
                    conn.execute("DELETE FROM records WHERE id = ?", (id,))
                    self._release(conn, record)

    def get(self, id: str) -> Record:
        record = self._load(self._connection(), id)
        if record is None:
            raise ResultNotFound(f"no task execution has id {id!r} in {str(self.path)!r}")
        return record

    def get_many(self, ids: Sequence[str]) -> list[Record | None]:
        found: dict[str, Record] = {}
        conn = self._connection()
        # Chunks stay under SQLite's limit on query parameters.
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            for (data,) in conn.execute(f"SELECT data FROM records WHERE id IN ({marks})", chunk):
                record = Record.loads(data)
                found[record.id] = record
        return [found.get(id) for id in ids]

    def start(self, id: str, attempt: int, *, worker: str, now: float) -> Record | None:
        with self._write() as conn:
            record = self._load(conn, id)
            if record is None or record.status not in WAITING:
                return None
            if record.attempts != attempt - 1 or record.cancel_requested:
                return None
            record = attrs.evolve(
                record, status=Status.RUNNING, attempts=attempt, started_at=now,
                heartbeat_at=now, worker=worker,
            )
            self._save(conn, record)
            return record

    def finish(
        self,
        id: str,
        attempt: int,
        status: Status,
        *,
        now: float,
        idempotency_ttl: float,
        value: Any = None,
        error: ErrorInfo | None = None,
        run_at: float | None = None,
        envelope: Any = None,
    ) -> Record | None:
        with self._write() as conn:
            record = self._load(conn, id)
            if record is None or record.status is not Status.RUNNING or record.attempts != attempt:
                return None
            if status is Status.RETRYING:
                record = attrs.evolve(record, status=status, error=error, run_at=run_at,
                                      envelope=envelope)
            else:
                record = attrs.evolve(record, status=status, value=value, error=error,
                                      finished_at=now)
                if status is not Status.SUCCEEDED:
                    self._release(conn, record)
            self._save(conn, record)
            return record

    def heartbeat(self, id: str, attempt: int, *, now: float) -> bool | None:
        with self._write() as conn:
            record = self._load(conn, id)
            if record is None or record.status is not Status.RUNNING or record.attempts != attempt:
                return None
            self._save(conn, attrs.evolve(record, heartbeat_at=now))
            return record.cancel_requested

    def set_progress(self, id: str, percent: float, message: str) -> None:
        with self._write() as conn:
            record = self._load(conn, id)
            if record is not None:
                self._save(conn, attrs.evolve(record, progress=(float(percent), message)))

    def cancel(self, id: str, *, now: float) -> Record:
        with self._write() as conn:
            record = self._load(conn, id)
            if record is None:
                raise ResultNotFound(f"no task execution has id {id!r} in {str(self.path)!r}")
            if record.status in WAITING:
                record = attrs.evolve(record, status=Status.CANCELED, finished_at=now)
                self._release(conn, record)
            elif record.status is Status.RUNNING:
                record = attrs.evolve(record, cancel_requested=True)
            self._save(conn, record)
            return record

    def mark_retried(self, id: str, new_id: str) -> Record | None:
        with self._write() as conn:
            record = self._load(conn, id)
            if record is None or record.status is not Status.FAILED or record.retried_as:
                return None
            record = attrs.evolve(record, retried_as=new_id)
            self._save(conn, record)
            return record

    def stale(self, *, before: float, limit: int = 100) -> list[Record]:
        rows = self._connection().execute(
            "SELECT data FROM records WHERE status = 'RUNNING'"
            " AND (heartbeat_at < ? OR heartbeat_at IS NULL) LIMIT ?",
            (before, limit),
        )
        return [Record.loads(data) for (data,) in rows]

    @staticmethod
    def _where(filter: RecordFilter) -> tuple[str, builtins.list[Any]]:
        clauses: builtins.list[str] = []
        params: builtins.list[Any] = []
        if filter.status is not None:
            clauses.append(f"status IN ({', '.join('?' * len(filter.status))})")
            params += sorted(s.value for s in filter.status)
        for column, value in (("task_name", filter.task_name), ("queue", filter.queue)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if filter.since is not None:
            clauses.append("enqueued_at >= ?")
            params.append(filter.since)
        if filter.until is not None:
            clauses.append("enqueued_at < ?")
            params.append(filter.until)
        if not filter.include_retried:
            clauses.append("retried_as IS NULL")
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params

    def list(self, filter: RecordFilter, *, limit: int = 100, offset: int = 0) -> list[Record]:
        where, params = self._where(filter)
        # rowid breaks ties in insertion order, as the memory store's stable sort does.
        rows = self._connection().execute(
            f"SELECT data FROM records{where} ORDER BY enqueued_at DESC, rowid ASC"
            " LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [Record.loads(data) for (data,) in rows]

    def count(self, filter: RecordFilter) -> int:
        where, params = self._where(filter)
        row = self._connection().execute(f"SELECT COUNT(*) FROM records{where}", params).fetchone()
        return int(row[0])

    def purge(self, *, now: float, result_ttl: float) -> int:
        # The loose bound lets the index on finished_at narrow the scan; the exact test is
        # the protocol's ``finished_at + result_ttl <= now``, in the same float arithmetic.
        loose = now - result_ttl + 1.0 + abs(now) * 1e-9
        with self._write() as conn:
            rows = conn.execute(
                f"SELECT id FROM records WHERE (finished_at <= ? OR finished_at IS NULL)"
                f" AND status IN ({_FINAL_SQL}) AND COALESCE(finished_at, 0) + ? <= ?",
                (loose, result_ttl, now),
            ).fetchall()
            for (id,) in rows:
                conn.execute("DELETE FROM records WHERE id = ?", (id,))
                conn.execute("DELETE FROM claims WHERE record_id = ?", (id,))
            return len(rows)

    # -- schedules and workers -----------------------------------------------------------------

    def put_schedule(self, name: str, data: dict[str, Any]) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO schedules (name, data) VALUES (?, ?)",
                         (name, _json.dumps(data)))

    def get_schedule(self, name: str) -> dict[str, Any] | None:
        sql = "SELECT data FROM schedules WHERE name = ?"
        row = self._connection().execute(sql, (name,)).fetchone()
        return None if row is None else dict(_json.loads(row[0]))

    def list_schedules(self) -> dict[str, dict[str, Any]]:
        rows = self._connection().execute("SELECT name, data FROM schedules")
        return {name: dict(_json.loads(data)) for name, data in rows}

    def delete_schedule(self, name: str) -> bool:
        with self._write() as conn:
            return conn.execute("DELETE FROM schedules WHERE name = ?", (name,)).rowcount > 0

    def register_worker(self, worker_id: str, info: dict[str, Any], *, ttl: float) -> None:
        now = time.time()
        with self._write() as conn:
            conn.execute("DELETE FROM workers WHERE expires_at <= ?", (now,))
            conn.execute(
                "INSERT OR REPLACE INTO workers (id, info, expires_at) VALUES (?, ?, ?)",
                (worker_id, _json.dumps(info), now + ttl),
            )

    def unregister_worker(self, worker_id: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM workers WHERE id = ?", (worker_id,))

    def workers(self) -> builtins.list[dict[str, Any]]:
        sql = "SELECT id, info FROM workers WHERE expires_at > ?"
        rows = self._connection().execute(sql, (time.time(),))
        return [dict(_json.loads(info), id=id) for id, info in rows]

    def ping(self) -> None:
        try:
            self._connection().execute("SELECT COUNT(*) FROM schedules").fetchone()
        except sqlite3.Error as exc:
            raise EnqueueError(
                f"cannot use the SQLite store at {str(self.path)!r}: {exc}; check that the file "
                "is readable and writable and not on a network file system"
            ) from exc

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
            if self._pid == os.getpid():
                for conn in opened:
                    conn.close()
        self._local = threading.local()
