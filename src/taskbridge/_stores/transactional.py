"""The store protocol's state changes written once, over a small transaction primitive.

A store that can run a few reads and writes atomically (a lock around dicts, an SQLite
``BEGIN IMMEDIATE``, a PostgreSQL transaction, a Django ``atomic`` block) subclasses
:class:`TransactionalStore`, implements :meth:`~TransactionalStore.transaction` and the reads,
and gets ``create``, ``discard``, ``start``, ``finish``, ``heartbeat``, ``set_progress``,
``cancel``, ``mark_retried``, ``dismiss``, ``purge``, ``lease`` and ``write`` with exactly the
meaning of :mod:`taskbridge._transitions`.
"""

from __future__ import annotations

import abc
import builtins
import time
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from taskbridge import _transitions as transitions
from taskbridge._envelope import Envelope
from taskbridge._errors import ResultNotFound
from taskbridge._record import ErrorInfo, Record
from taskbridge._status import FINAL, Status
from taskbridge._stores.base import RecordFilter
from taskbridge._transitions import Lease


class Transaction(Protocol):
    """What :meth:`TransactionalStore.transaction` yields: reads and writes of one atomic unit.

    Nothing written is visible to others until the transaction ends without an exception, and
    an exception undoes every write. Concurrent transactions must behave as if run one at a time
    (the claim read by ``claim`` must not change under a transaction before it ends).
    """

    def load(self, id: str) -> Record | None:
        """The stored record, or ``None``."""
        ...

    def insert(self, record: Record) -> None:
        """Store a new record."""
        ...

    def save(self, record: Record) -> None:
        """Replace the stored record that has ``record.id``."""
        ...

    def delete(self, id: str) -> None:
        """Delete a record (its claim is released separately)."""
        ...

    def claim(self, key: str) -> str | None:
        """The id the claim on ``key`` points at, or ``None``."""
        ...

    def set_claim(self, key: str, id: str) -> None:
        """Point the claim on ``key`` at ``id``, replacing any claim there."""
        ...

    def release_claim(self, key: str, id: str) -> None:
        """Remove the claim on ``key`` if it points at ``id``."""
        ...

    def finished(self, status: Status, until: float, limit: int) -> Iterable[Record]:
        """Up to ``limit`` records in final ``status`` whose ``finished_at`` is at most
        ``until`` (or unset), oldest ``finished_at`` first; records a little past ``until``
        are fine, the caller applies the exact rule."""
        ...

    def lease(self, key: str) -> Lease | None:
        """The lease stored for ``key``, expired or not, or ``None``."""
        ...

    def set_lease(self, key: str, lease: Lease) -> None:
        """Store ``lease`` for ``key``, replacing any."""
        ...

    def delete_lease(self, key: str) -> None:
        """Remove the lease stored for ``key``, if any."""
        ...

    def drop_leases(self, until: float) -> None:
        """Remove every lease that expires at or before ``until``."""
        ...

    def write(self, writes: Sequence[Any]) -> None:
        """Run raw, store-native writes; raise ``TypeError`` if the store has none."""
        ...


class TransactionalStore(abc.ABC):
    """A ``StateStore`` whose state changes are load → :mod:`~taskbridge._transitions` →
    save inside one :meth:`transaction`; subclasses provide storage and reads only."""

    #: Where the store keeps its data, for error messages (``'/srv/state.db'``); may be empty.
    location: str = ""

    @abc.abstractmethod
    def transaction(self) -> AbstractContextManager[Transaction]:
        """An atomic unit of reads and writes (see :class:`Transaction`)."""

    # -- the state changes, written once ----------------------------------------------------

    def create(
        self,
        records: Sequence[Record],
        *,
        now: float,
        idempotency_ttl: float,
        writes: Mapping[str, Sequence[Any]] | None = None,
    ) -> list[Record]:
        out: list[Record] = []
        with self.transaction() as tx:
            for record in records:
                key = record.idempotency_key
                if key:
                    holder = tx.claim(key)
                    owner = tx.load(holder) if holder is not None else None
                    if transitions.holds_claim(owner, now=now, idempotency_ttl=idempotency_ttl):
                        assert owner is not None
                        out.append(owner)
                        continue
                    tx.set_claim(key, record.id)
                tx.insert(record)
                if writes and writes.get(record.id):
                    tx.write(writes[record.id])
                out.append(record)
        return out

    def write(self, writes: Sequence[Any]) -> None:
        if writes:
            with self.transaction() as tx:
                tx.write(writes)

    def discard(self, ids: Sequence[str]) -> None:
        with self.transaction() as tx:
            for id in ids:
                record = tx.load(id)
                if transitions.can_discard(record):
                    assert record is not None
                    tx.delete(id)
                    _release(tx, record)

    def claim_holder(self, key: str) -> str | None:
        with self.transaction() as tx:
            return tx.claim(key)

    def get(self, id: str) -> Record:
        [record] = self.get_many([id])
        if record is None:
            raise self._not_found(id)
        return record

    def start(self, id: str, attempt: int, *, worker: str, now: float) -> Record | None:
        with self.transaction() as tx:
            record = tx.load(id)
            return _apply(tx, record, transitions.start(record, attempt, worker=worker, now=now))

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
        envelope: Envelope | None = None,
        cpu_time: float | None = None,
        peak_memory: int | None = None,
    ) -> Record | None:
        with self.transaction() as tx:
            record = tx.load(id)
            change = transitions.finish(
                record, attempt, status, now=now, value=value, error=error, run_at=run_at,
                envelope=envelope, cpu_time=cpu_time, peak_memory=peak_memory,
            )
            return _apply(tx, record, change)

    def heartbeat(self, id: str, attempt: int, *, now: float) -> bool | None:
        with self.transaction() as tx:
            record = tx.load(id)
            beat = _apply(tx, record, transitions.heartbeat(record, attempt, now=now))
            return None if beat is None else beat.cancel_requested

    def set_progress(
        self, id: str, percent: float, message: str, *, now: float | None = None
    ) -> None:
        now = time.time() if now is None else now
        with self.transaction() as tx:
            record = tx.load(id)
            _apply(tx, record, transitions.set_progress(record, percent, message, now=now))

    def cancel(self, id: str, *, now: float) -> Record:
        with self.transaction() as tx:
            record = tx.load(id)
            if record is None:
                raise self._not_found(id)
            canceled = _apply(tx, record, transitions.cancel(record, now=now))
            assert canceled is not None
            return canceled

    def mark_retried(self, id: str, new_id: str) -> Record | None:
        with self.transaction() as tx:
            record = tx.load(id)
            return _apply(tx, record, transitions.mark_retried(record, new_id))

    def dismiss(self, id: str, *, now: float) -> Record | None:
        with self.transaction() as tx:
            record = tx.load(id)
            return _apply(tx, record, transitions.dismiss(record, now=now))

    def purge(
        self,
        *,
        now: float,
        result_ttl: float,
        failed_ttl: float | None = None,
        limit: int | None = None,
    ) -> int:
        left = _UNLIMITED if limit is None else limit
        with self.transaction() as tx:
            for status in sorted(FINAL):
                if left <= 0:
                    break
                ttl = failed_ttl if status is Status.FAILED and failed_ttl is not None else (
                    result_ttl)
                # A bound loose by a second lets an index narrow the scan; ``expired`` is
                # exact, and the records it keeps come first (oldest first).
                until = now - ttl + 1.0 + abs(now) * 1e-9
                for record in tx.finished(status, until, left):
                    if not transitions.expired(record, now=now, result_ttl=result_ttl,
                                               failed_ttl=failed_ttl):
                        break
                    tx.delete(record.id)
                    _release(tx, record)
                    left -= 1
            tx.drop_leases(now)
        return (_UNLIMITED if limit is None else limit) - left

    def lease(self, key: str, holder: str, *, now: float, ttl: float) -> bool:
        with self.transaction() as tx:
            taken = transitions.take_lease(tx.lease(key), holder, now=now, ttl=ttl)
            if taken is not None:
                tx.set_lease(key, taken)
            return taken is not None

    def release_lease(self, key: str, holder: str) -> None:
        with self.transaction() as tx:
            held = tx.lease(key)
            if held is not None and held.holder == holder:
                tx.delete_lease(key)

    def lease_holder(self, key: str, *, now: float) -> str | None:
        with self.transaction() as tx:
            held = tx.lease(key)
        return held.holder if held is not None and held.expires_at > now else None

    def _not_found(self, id: str) -> ResultNotFound:
        where = f" in {self.location}" if self.location else ""
        return ResultNotFound(f"no task execution has id {id!r}{where}")

    # -- storage and reads: the subclass's part -----------------------------------------------

    @abc.abstractmethod
    def get_many(self, ids: Sequence[str]) -> list[Record | None]: ...

    @abc.abstractmethod
    def stale(self, *, before: float, limit: int = 100) -> list[Record]: ...

    @abc.abstractmethod
    def list(
        self, filter: RecordFilter, *, limit: int = 100, offset: int = 0
    ) -> builtins.list[Record]: ...

    @abc.abstractmethod
    def count(self, filter: RecordFilter) -> int: ...

    @abc.abstractmethod
    def put_schedule(self, name: str, data: dict[str, Any]) -> None: ...

    @abc.abstractmethod
    def get_schedule(self, name: str) -> dict[str, Any] | None: ...

    @abc.abstractmethod
    def list_schedules(self) -> dict[str, dict[str, Any]]: ...

    @abc.abstractmethod
    def delete_schedule(self, name: str) -> bool: ...

    @abc.abstractmethod
    def register_worker(self, worker_id: str, info: dict[str, Any], *, ttl: float) -> None: ...

    @abc.abstractmethod
    def unregister_worker(self, worker_id: str) -> None: ...

    @abc.abstractmethod
    def workers(self) -> builtins.list[dict[str, Any]]: ...

    @abc.abstractmethod
    def ping(self) -> None: ...

    @abc.abstractmethod
    def close(self) -> None: ...


_UNLIMITED = 2**62


def _release(tx: Transaction, record: Record) -> None:
    if record.idempotency_key:
        tx.release_claim(record.idempotency_key, record.id)


def _apply(tx: Transaction, old: Record | None, change: transitions.Change | None) -> Record | None:
    """Save what ``change`` made of ``old`` (if anything), release its claim if it says so."""
    if change is None:
        return None
    if change.record is not old:
        tx.save(change.record)
    if change.releases_claim:
        _release(tx, change.record)
    return change.record
