"""A state store in PostgreSQL: records, claims, leases, schedules and workers in one schema.

State changes are the core's (:class:`taskbridge.plugin.TransactionalStore`), each in one
transaction with row locks (``SELECT ... FOR UPDATE``); an idempotency key's claim row is taken
with an upsert, so the primary key decides races between producers; leases are one upsert.
"""

from __future__ import annotations

import builtins
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg

from taskbridge import ConfigurationError, EnqueueError, Record, RecordFilter
from taskbridge.plugin import (
    Status,
    TransactionalStore,
    dumps_json,
    loads_json,
    sql_count_by_status,
    sql_where,
)
from taskbridge_postgresql.connections import Pool
from taskbridge_postgresql.schema import Tables
from taskbridge_postgresql.transaction import Transaction

#: What a statement on tables not created yet raises.
_NOT_CREATED = (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName)
#: Records a purge deletes in one transaction, so a large purge never holds locks for long.
PURGE_BATCH = 500


class PostgreSQLStore(TransactionalStore):
    """Records, claims, leases, schedules and workers in schema ``schema`` of the database
    ``conninfo`` names (a libpq URL or key-value string), created by the first write.

    Native writes (``create(writes=)``, ``write``) are :data:`taskbridge.plugin.Statement` s,
    ``(sql, params)`` with psycopg's ``%s`` placeholders, run in the same transaction.
    """

    #: The server or the network did not answer (a pool timeout is one): workers retry.
    transient_errors: tuple[type[BaseException], ...] = (
        psycopg.OperationalError, psycopg.InterfaceError,
    )

    def __init__(self, conninfo: str, *, schema: str = "taskbridge", location: str = "") -> None:
        self.tables = Tables(schema)
        self.location = location or f"PostgreSQL schema {schema!r}"
        self.pool = Pool(conninfo)
        self._created = False
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"<PostgreSQLStore {self.location}>"

    def _ready(self) -> None:
        """Create the schema and its tables on first use.

        Without a lock of this process: one held by another thread when the process forks
        would never be released in the child. Threads racing here create nothing twice (the
        creation is idempotent and takes turns on an advisory lock in the server).
        """
        if self._created:
            return
        try:
            self.tables.create(self.pool.conninfo)
        except (psycopg.OperationalError, psycopg.InterfaceError):
            raise  # the server did not answer: transient
        except psycopg.Error as exc:
            raise ConfigurationError(
                f"the PostgreSQL store at {self.location} cannot create its tables "
                f"({type(exc).__name__}: {exc}); grant the user CREATE on the database "
                f"(GRANT CREATE ON DATABASE ...), or have its owner run any taskbridge "
                "command with this URL once"
            ) from exc
        self._created = True

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        self._ready()
        keys, self._local.claims_first = getattr(self._local, "claims_first", ()), ()
        with self.pool.transaction() as conn:
            tx = Transaction(conn, self.tables)
            for key in keys:
                tx.claim(key)
            yield tx

    def create(
        self,
        records: Sequence[Record],
        *,
        now: float,
        idempotency_ttl: float,
        writes: Mapping[str, Sequence[Any]] | None = None,
    ) -> builtins.list[Record]:
        # The core's create claims keys in the batch's order; two producers with the same keys
        # in other orders would each hold a claim row the other waits for (a deadlock). The
        # transaction takes a batch's claim rows in sorted order first, so they queue instead.
        keys = sorted({r.idempotency_key for r in records if r.idempotency_key})
        self._local.claims_first = keys if len(keys) > 1 else ()
        try:
            return super().create(records, now=now, idempotency_ttl=idempotency_ttl,
                                  writes=writes)
        finally:
            self._local.claims_first = ()

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> builtins.list[Any]:
        """A read's rows; none before anything created the tables (reads create nothing, so
        a read-only command on a mistyped namespace leaves no empty schema behind)."""
        try:
            with self.pool.connection() as conn:
                return conn.execute(sql, params).fetchall()
        except _NOT_CREATED:
            return []

    def _run(self, sql: str, params: Sequence[Any] = (), *, creates: bool = True) -> int:
        """One statement that writes, in its own transaction; how many rows it changed.
        ``creates=False``: one that has nothing to do before the tables exist (a delete)."""
        if creates:
            self._ready()
        try:
            with self.pool.connection() as conn:
                return conn.execute(sql, params).rowcount
        except _NOT_CREATED:
            if creates:
                raise
            return 0

    # -- changes done in one statement -------------------------------------------------------

    def lease(self, key: str, holder: str, *, now: float, ttl: float) -> bool:
        # transitions.take_lease as one upsert: free, expired, or already the holder's.
        return self._run(
            f"INSERT INTO {self.tables.leases} AS held (key, holder, expires_at)"
            " VALUES (%s, %s, %s) ON CONFLICT (key) DO UPDATE"
            " SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at"
            " WHERE held.holder = EXCLUDED.holder OR held.expires_at <= %s",
            (key, holder, now + ttl, now),
        ) > 0

    def release_lease(self, key: str, holder: str) -> None:
        self._run(f"DELETE FROM {self.tables.leases} WHERE key = %s AND holder = %s",
                  (key, holder), creates=False)

    def purge(
        self,
        *,
        now: float,
        result_ttl: float,
        failed_ttl: float | None = None,
        limit: int | None = None,
    ) -> int:
        """The core's purge, :data:`PURGE_BATCH` records a transaction."""
        total = 0
        while limit is None or total < limit:
            batch = PURGE_BATCH if limit is None else min(PURGE_BATCH, limit - total)
            done = super().purge(now=now, result_ttl=result_ttl, failed_ttl=failed_ttl,
                                 limit=batch)
            total += done
            if done < batch:
                break
        return total

    # -- reads -------------------------------------------------------------------------------

    def claim_holder(self, key: str) -> str | None:
        rows = self._rows(f"SELECT record_id FROM {self.tables.claims} WHERE key = %s", (key,))
        # An empty holder is a claim being made, not yet committed: none.
        return (str(rows[0][0]) or None) if rows else None

    def lease_holder(self, key: str, *, now: float) -> str | None:
        rows = self._rows(
            f"SELECT holder FROM {self.tables.leases} WHERE key = %s AND expires_at > %s",
            (key, now),
        )
        return str(rows[0][0]) if rows else None

    def get_many(self, ids: Sequence[str]) -> builtins.list[Record | None]:
        found: dict[str, Record] = {}
        for start in range(0, len(ids), 1000):
            chunk = list(ids[start : start + 1000])
            for (data,) in self._rows(
                f"SELECT data FROM {self.tables.records} WHERE id = ANY(%s)", (chunk,)
            ):
                record = Record.loads(data)
                found[record.id] = record
        return [found.get(id) for id in ids]

    def stale(self, *, before: float, limit: int = 100) -> builtins.list[Record]:
        rows = self._rows(
            f"SELECT data FROM {self.tables.records} WHERE status = 'RUNNING'"
            " AND (heartbeat_at < %s OR heartbeat_at IS NULL) LIMIT %s",
            (before, limit),
        )
        return [Record.loads(data) for (data,) in rows]

    @staticmethod
    def _where(filter: RecordFilter) -> tuple[str, builtins.list[Any]]:
        return sql_where(filter, param="%s")

    def list(
        self, filter: RecordFilter, *, limit: int = 100, offset: int = 0
    ) -> builtins.list[Record]:
        where, params = self._where(filter)
        # seq breaks ties in insertion order, as the memory store's stable sort does.
        rows = self._rows(
            f"SELECT data FROM {self.tables.records}{where}"
            " ORDER BY enqueued_at DESC, seq ASC LIMIT %s OFFSET %s",
            (*params, limit, offset),
        )
        return [Record.loads(data) for (data,) in rows]

    def count(self, filter: RecordFilter) -> int:
        where, params = self._where(filter)
        rows = self._rows(f"SELECT COUNT(*) FROM {self.tables.records}{where}", params)
        return int(rows[0][0]) if rows else 0

    def count_by_status(self, filter: RecordFilter) -> dict[Status, int]:
        """``count`` for every status at once: one pass over the matching index range."""
        return sql_count_by_status(self._rows, self.tables.records, filter, param="%s")

    # -- schedules and workers -----------------------------------------------------------------

    def put_schedule(self, name: str, data: dict[str, Any]) -> None:
        self._run(
            f"INSERT INTO {self.tables.schedules} (name, data) VALUES (%s, %s)"
            " ON CONFLICT (name) DO UPDATE SET data = EXCLUDED.data",
            (name, dumps_json(data)),
        )

    def get_schedule(self, name: str) -> dict[str, Any] | None:
        rows = self._rows(f"SELECT data FROM {self.tables.schedules} WHERE name = %s", (name,))
        return dict(loads_json(rows[0][0])) if rows else None

    def list_schedules(self) -> dict[str, dict[str, Any]]:
        rows = self._rows(f"SELECT name, data FROM {self.tables.schedules}")
        return {name: dict(loads_json(data)) for name, data in rows}

    def delete_schedule(self, name: str) -> bool:
        return self._run(f"DELETE FROM {self.tables.schedules} WHERE name = %s", (name,),
                         creates=False) > 0

    def register_worker(self, worker_id: str, info: dict[str, Any], *, ttl: float) -> None:
        now = time.time()
        self._ready()
        with self.pool.transaction() as conn:
            conn.execute(f"DELETE FROM {self.tables.workers} WHERE expires_at <= %s", (now,))
            conn.execute(
                f"INSERT INTO {self.tables.workers} (id, info, expires_at) VALUES (%s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET info = EXCLUDED.info,"
                " expires_at = EXCLUDED.expires_at",
                (worker_id, dumps_json(info), now + ttl),
            )

    def unregister_worker(self, worker_id: str) -> None:
        self._run(f"DELETE FROM {self.tables.workers} WHERE id = %s", (worker_id,),
                  creates=False)

    def workers(self) -> builtins.list[dict[str, Any]]:
        rows = self._rows(f"SELECT id, info FROM {self.tables.workers} WHERE expires_at > %s",
                          (time.time(),))
        return [dict(loads_json(info), id=id) for id, info in rows]

    def ping(self) -> None:
        try:
            self._rows(f"SELECT 1 FROM {self.tables.schedules} LIMIT 1")
        except psycopg.Error as exc:
            raise EnqueueError(
                f"cannot use the PostgreSQL store at {self.location}: {type(exc).__name__}: "
                f"{exc}; check that the server answers, that the database exists and that "
                "the user may create tables in it"
            ) from exc

    def close(self) -> None:
        self.pool.close()
