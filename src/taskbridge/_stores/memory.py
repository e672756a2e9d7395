"""An in-process state store: the reference implementation of the store protocol."""

from __future__ import annotations

import builtins
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from taskbridge import _json
from taskbridge._errors import ResultNotFound
from taskbridge._record import ErrorInfo, Record
from taskbridge._status import FINAL, WAITING, Status
from taskbridge._stores.base import RecordFilter


class MemoryStore:
    """Keeps everything in dicts behind one lock; shared by the threads of one process."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._records: dict[str, Record] = {}
        self._claims: dict[str, str] = {}
        self._schedules: dict[str, dict[str, Any]] = {}
        self._workers: dict[str, tuple[float, dict[str, Any]]] = {}

    # -- records ---------------------------------------------------------------------------

    def _live_claim(self, key: str, now: float, idempotency_ttl: float) -> Record | None:
        owner = self._records.get(self._claims.get(key, ""))
        if owner is None or not owner.status.holds_idempotency_key:
            return None
        if owner.status is Status.SUCCEEDED and (owner.finished_at or 0) + idempotency_ttl <= now:
            return None
        return owner

    def create(
        self,
        records: Sequence[Record],
        *,
        now: float,
        idempotency_ttl: float,
        writes: Mapping[str, Sequence[Any]] | None = None,
    ) -> list[Record]:
        if writes:
            raise TypeError("the memory store runs no raw writes; publish the messages instead")
        with self._lock:
            out: list[Record] = []
            for record in records:
                key = record.idempotency_key
                existing = self._live_claim(key, now, idempotency_ttl) if key else None
                if existing is not None:
                    out.append(attrs.evolve(existing, deduplicated=True))
                    continue
                # Stored as production stores keep it: through JSON (tuples become lists,
                # and later changes to the caller's objects do not leak in).
                record = Record.loads(record.dumps())
                self._records[record.id] = record
                if key:
                    self._claims[key] = record.id
                out.append(record)
            return out

    def write(self, writes: Sequence[Any]) -> None:
        if writes:
            raise TypeError("the memory store runs no raw writes; publish the messages instead")

    def discard(self, ids: Sequence[str]) -> None:
        with self._lock:
            for id in ids:
                record = self._records.get(id)
                if record is None or record.status is not Status.PENDING:
                    continue
                del self._records[id]
                self._release(record)

    def _release(self, record: Record) -> None:
        key = record.idempotency_key
        if key and self._claims.get(key) == record.id:
            del self._claims[key]

    def get(self, id: str) -> Record:
        with self._lock:
            try:
                return self._records[id]
            except KeyError:
                raise ResultNotFound(f"no task execution has id {id!r}") from None

    def get_many(self, ids: Sequence[str]) -> list[Record | None]:
        with self._lock:
            return [self._records.get(id) for id in ids]

    def start(self, id: str, attempt: int, *, worker: str, now: float) -> Record | None:
        with self._lock:
            record = self._records.get(id)
            if (
                record is None
                or record.status not in WAITING
                or record.attempts != attempt - 1
                or record.cancel_requested
            ):
                return None
            record = attrs.evolve(
                record,
                status=Status.RUNNING,
                attempts=attempt,
                started_at=now,
                heartbeat_at=now,
                worker=worker,
            )
            self._records[id] = record
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
        with self._lock:
            record = self._records.get(id)
            if record is None or record.status is not Status.RUNNING or record.attempts != attempt:
                return None
            if status is Status.RETRYING:
                record = attrs.evolve(
                    record, status=status, error=error, run_at=run_at, envelope=envelope
                )
            else:
                record = attrs.evolve(
                    record, status=status, value=_json.loads(_json.dumps(value)), error=error,
                    finished_at=now,
                )
                if status is not Status.SUCCEEDED:
                    self._release(record)
            self._records[id] = record
            return record

    def heartbeat(self, id: str, attempt: int, *, now: float) -> bool | None:
        with self._lock:
            record = self._records.get(id)
            if record is None or record.status is not Status.RUNNING or record.attempts != attempt:
                return None
            self._records[id] = attrs.evolve(record, heartbeat_at=now)
            return record.cancel_requested

    def set_progress(self, id: str, percent: float, message: str) -> None:
        with self._lock:
            record = self._records.get(id)
            if record is not None:
                self._records[id] = attrs.evolve(record, progress=(float(percent), message))

    def cancel(self, id: str, *, now: float) -> Record:
        with self._lock:
            record = self.get(id)
            if record.status in WAITING:
                record = attrs.evolve(record, status=Status.CANCELED, finished_at=now)
                self._release(record)
            elif record.status is Status.RUNNING:
                record = attrs.evolve(record, cancel_requested=True)
            self._records[id] = record
            return record

    def mark_retried(self, id: str, new_id: str) -> Record | None:
        with self._lock:
            record = self._records.get(id)
            if record is None or record.status is not Status.FAILED or record.retried_as:
                return None
            record = self._records[id] = attrs.evolve(record, retried_as=new_id)
            return record

    def stale(self, *, before: float, limit: int = 100) -> list[Record]:
        with self._lock:
            found = [
                r
                for r in self._records.values()
                if r.status is Status.RUNNING and (r.heartbeat_at or 0) < before
            ]
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

    def purge(self, *, now: float, result_ttl: float) -> int:
        with self._lock:
            expired = [
                r
                for r in self._records.values()
                if r.status in FINAL and (r.finished_at or 0) + result_ttl <= now
            ]
            for record in expired:
                del self._records[record.id]
                self._release(record)
            return len(expired)

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
            self._schedules.clear()
            self._workers.clear()
