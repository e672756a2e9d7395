"""The PostgreSQL store's transaction primitives (``taskbridge.plugin.Transaction``) on one
connection inside one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from taskbridge import Record, Status
from taskbridge.plugin import Statement, sql_insert_record, sql_update_record, transitions
from taskbridge_postgresql.schema import Tables

Lease = transitions.Lease


class Transaction:
    """The store's primitives on a connection inside one transaction.

    Records are loaded with a row lock, except the owner of a claim while a new record is being
    created: the claim row's lock already orders that create against the owner's release (which
    deletes the claim row), and taking the two locks in the other order than ``finish`` does
    (record, then claim) could deadlock.
    """

    def __init__(self, conn: psycopg.Connection[Any], tables: Tables) -> None:
        self.conn = conn
        self.t = tables
        self._claim_owners: set[str] = set()

    def _one(self, sql: str, params: Sequence[Any]) -> Any:
        return self.conn.execute(sql, params).fetchone()

    def load(self, id: str) -> Record | None:
        lock = "" if id in self._claim_owners else " FOR UPDATE"
        row = self._one(f"SELECT data FROM {self.t.records} WHERE id = %s{lock}", (id,))
        return None if row is None else Record.loads(row[0])

    def insert(self, record: Record) -> None:
        self.conn.execute(*sql_insert_record(self.t.records, record, param="%s"))

    def save(self, record: Record) -> None:
        self.conn.execute(*sql_update_record(self.t.records, record, param="%s"))

    def delete(self, id: str) -> None:
        self.conn.execute(f"DELETE FROM {self.t.records} WHERE id = %s", (id,))

    def claim(self, key: str) -> str | None:
        # Insert an empty claim or lock the one there: either way this transaction holds the
        # key's row until it ends, and a racing producer's upsert waits for it, then sees what
        # this one wrote. (An empty claim is only ever left by a rollback, which removes it.)
        row = self._one(
            f"INSERT INTO {self.t.claims} AS claims (key, record_id) VALUES (%s, '')"
            " ON CONFLICT (key) DO UPDATE SET record_id = claims.record_id RETURNING record_id",
            (key,),
        )
        holder = str(row[0]) if row is not None else ""
        if holder:
            self._claim_owners.add(holder)
        return holder or None

    def set_claim(self, key: str, id: str) -> None:
        self.conn.execute(
            f"INSERT INTO {self.t.claims} (key, record_id) VALUES (%s, %s)"
            " ON CONFLICT (key) DO UPDATE SET record_id = EXCLUDED.record_id",
            (key, id),
        )

    def release_claim(self, key: str, id: str) -> None:
        self.conn.execute(
            f"DELETE FROM {self.t.claims} WHERE key = %s AND record_id = %s", (key, id)
        )

    def finished(self, status: Status, until: float, limit: int) -> list[Record]:
        # Two ranges of the (status, finished_at) index; unset times first, as "oldest".
        rows = self.conn.execute(
            f"SELECT data FROM {self.t.records} WHERE status = %s AND finished_at IS NULL"
            " ORDER BY id LIMIT %s FOR UPDATE",
            (status.value, limit),
        ).fetchall()
        rows += self.conn.execute(
            f"SELECT data FROM {self.t.records} WHERE status = %s AND finished_at <= %s"
            " ORDER BY finished_at, id LIMIT %s FOR UPDATE",
            (status.value, until, limit - len(rows)),
        ).fetchall()
        return [Record.loads(data) for (data,) in rows]

    def lease(self, key: str) -> Lease | None:
        row = self._one(
            f"SELECT holder, expires_at FROM {self.t.leases} WHERE key = %s FOR UPDATE", (key,)
        )
        return None if row is None else Lease(str(row[0]), float(row[1]))

    def set_lease(self, key: str, lease: Lease) -> None:
        self.conn.execute(
            f"INSERT INTO {self.t.leases} (key, holder, expires_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (key) DO UPDATE SET holder = EXCLUDED.holder,"
            " expires_at = EXCLUDED.expires_at",
            (key, lease.holder, lease.expires_at),
        )

    def delete_lease(self, key: str) -> None:
        self.conn.execute(f"DELETE FROM {self.t.leases} WHERE key = %s", (key,))

    def drop_leases(self, until: float) -> None:
        self.conn.execute(f"DELETE FROM {self.t.leases} WHERE expires_at <= %s", (until,))

    def write(self, writes: Sequence[Any]) -> None:
        statements: Sequence[Statement] = writes
        for sql, params in statements:
            self.conn.execute(sql, params)
