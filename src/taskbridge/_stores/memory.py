"""An in-process state store: dicts behind one lock, for ``memory://`` and tests."""

from __future__ import annotations

import builtins
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from taskbridge import _transitions as transitions
from taskbridge._record import Record
from taskbridge._status import Status
from taskbridge._stores.base import RecordFilter
from taskbridge._stores.transactional import TransactionalStore
from taskbridge._transitions import Lease

_MISSING: Any = object()


class _Transaction:
    """The store's dicts, changed under its lock with an undo log, so a failing ``create``
    leaves nothing behind, as it would in a database."""

    def __init__(
        self, records: dict[str, Record], claims: dict[str, str], leases: dict[str, Lease]
    ) -> None:
        self._records = records
        self._claims = claims
        self._leases = leases
        self.undo: list[Callable[[], None]] = []

    def _set(self, table: dict[str, Any], key: str, value: Any) -> None:
        old = table.get(key, _MISSING)
        self.undo.append(lambda: _restore(table, key, old))
        _restore(table, key, value)

    def load(self, id: str) -> Record | None:
        return self._records.get(id)

    def insert(self, record: Record) -> None:
        # Stored as production stores keep it: through JSON (tuples become lists, and later
        # changes to the caller's objects do not leak in).
        self._set(self._records, record.id, Record.loads(record.dumps()))

    def save(self, record: Record) -> None:
        self._set(self._records, record.id, record)

    def delete(self, id: str) -> None:
        self._set(self._records, id, _MISSING)

    def claim(self, key: str) -> str | None:
        return self._claims.get(key)

    def set_claim(self, key: str, id: str) -> None:
        self._set(self._claims, key, id)

    def release_claim(self, key: str, id: str) -> None:
        if self._claims.get(key) == id:
            self._set(self._claims, key, _MISSING)

    def finished(self, status: Status, until: float, limit: int) -> list[Record]:
        found = [
            r for r in self._records.values()
            if r.status is status and (r.finished_at is None or r.finished_at <= until)
        ]
        return sorted(found, key=lambda r: r.finished_at or 0.0)[:limit]

    def lease(self, key: str) -> Lease | None:
        return self._leases.get(key)

    def set_lease(self, key: str, lease: Lease) -> None:
        self._set(self._leases, key, lease)

    def delete_lease(self, key: str) -> None:
        self._set(self._leases, key, _MISSING)

    def drop_leases(self, until: float) -> None:
        for key, lease in list(self._leases.items()):
            if lease.expires_at <= until:
                self.delete_lease(key)

    def write(self, writes: Sequence[Any]) -> None:
        raise TypeError("the memory store has no native writes: it keeps no engine messages")


class MemoryStore(TransactionalStore):
    """Keeps everything in dicts behind one lock; shared by the threads of one process."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._records: dict[str, Record] = {}
        self._claims: dict[str, str] = {}
        self._leases: dict[str, Lease] = {}
        self._schedules: dict[str, dict[str, Any]] = {}
        self._workers: dict[str, tuple[float, dict[str, Any]]] = {}

    @contextmanager
    def transaction(self) -> Iterator[_Transaction]:
        with self._lock:
            tx = _Transaction(self._records, self._claims, self._leases)
            try:
                yield tx
            except BaseException:
                for undo in reversed(tx.undo):
                    undo()
                raise

    # -- reads -------------------------------------------------------------------------------

    def get_many(self, ids: Sequence[str]) -> list[Record | None]:
        with self._lock:
            return [self._records.get(id) for id in ids]

    def stale(self, *, before: float, limit: int = 100) -> list[Record]:
        with self._lock:
            found = [r for r in self._records.values() if transitions.is_stale(r, before=before)]
        return found[:limit]

    def list(
        self, filter: RecordFilter, *, limit: int = 100, offset: int = 0
    ) -> builtins.list[Record]:
        with self._lock:
            found = [r for r in self._records.values() if filter.matches(r)]
        found.sort(key=lambda r: r.enqueued_at, reverse=True)
        return found[offset : offset + limit]

    def count(self, filter: RecordFilter) -> int:
        with self._lock:
            return sum(1 for r in self._records.values() if filter.matches(r))

    # -- schedules and workers -----------------------------------------------------------------

    def put_schedule(self, name: str, data: dict[str, Any]) -> None:
        with self._lock:
            self._schedules[name] = dict(data)

    def get_schedule(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            data = self._schedules.get(name)
            return dict(data) if data is not None else None

    def list_schedules(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {name: dict(data) for name, data in self._schedules.items()}

    def delete_schedule(self, name: str) -> bool:
        with self._lock:
            return self._schedules.pop(name, None) is not None

    def register_worker(self, worker_id: str, info: dict[str, Any], *, ttl: float) -> None:
        with self._lock:
            self._workers[worker_id] = (time.time() + ttl, dict(info))

    def unregister_worker(self, worker_id: str) -> None:
        with self._lock:
            self._workers.pop(worker_id, None)

    def workers(self) -> builtins.list[dict[str, Any]]:
        now = time.time()
        with self._lock:
            return [dict(info, id=wid) for wid, (exp, info) in self._workers.items() if exp > now]

    def ping(self) -> None:
        return None

    def close(self) -> None:
        return None

    def clear(self) -> None:
        """Forget everything (the test kit's ``reset``)."""
        with self._lock:
            self._records.clear()
            self._claims.clear()
            self._leases.clear()
            self._schedules.clear()
            self._workers.clear()


def _restore(table: dict[str, Any], key: str, old: Any) -> None:
    if old is _MISSING:
        table.pop(key, None)
    else:
        table[key] = old
