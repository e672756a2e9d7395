"""The state store protocol: the small set of atomic operations the core's semantics rest on.

Every method that changes state is atomic with respect to every other process using the same
store; that is what makes idempotency claims, status transitions and crash recovery correct with
many producers and workers. Times are Unix timestamps (float seconds). Reads never change state.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from taskbridge._record import ErrorInfo, Record
from taskbridge._status import Status


def _statuses(value: Any) -> frozenset[Status] | None:
    if value is None:
        return None
    if isinstance(value, Status | str):
        return frozenset({Status(value)})
    return frozenset(Status(v) for v in value)


@attrs.frozen
class RecordFilter:
    """Which records ``list`` and ``count`` return. ``since``/``until`` bound ``enqueued_at``."""

    status: frozenset[Status] | None = attrs.field(default=None, converter=_statuses)
    task_name: str | None = None
    queue: str | None = None
    since: float | None = None
    until: float | None = None
    #: False leaves out FAILED records that ``Bridge.retry`` already re-enqueued or
    #: ``Bridge.discard`` took off the dead-letter list.
    include_retried: bool = True

    def matches(self, record: Record) -> bool:
        """The reference semantics every store must reproduce."""
        return (
            (self.status is None or record.status in self.status)
            and (self.task_name is None or record.task_name == self.task_name)
            and (self.queue is None or record.queue == self.queue)
            and (self.since is None or record.enqueued_at >= self.since)
            and (self.until is None or record.enqueued_at < self.until)
            and (self.include_retried
                 or (record.retried_as is None and record.discarded_at is None))
        )


@runtime_checkable
class StateStore(Protocol):
    """Execution records, idempotency claims, schedules and worker presence.

    Optional extras: ``transient_errors``, the exception types meaning "unreachable right now"
    (workers retry recording an outcome on those), and ``wait_for_final(id, timeout)``, which
    blocks until ``id`` may have become final and may return its final record (the Redis store
    pops the record its scripts push for a record read with ``get_and_watch(id, seconds)``,
    which ``Result.wait`` then uses for its reads); ``Result.wait`` uses it instead of polling
    when present; and ``count_by_status(filter)``,
    ``count`` for every status in one query (a ``dict`` of ``Status`` to int), which the
    dashboard's statistics use when present.

    An idempotency claim for key K is *live* while the record it points at is PENDING, RUNNING
    or RETRYING, or SUCCEEDED with ``finished_at + idempotency_ttl > now``; FAILED and CANCELED
    release it. Every state change means what ``taskbridge.plugin.transitions`` computes, and
    ``taskbridge.testing.store_contract`` checks that it does.
    """

    def create(
        self,
        records: Sequence[Record],
        *,
        now: float,
        idempotency_ttl: float,
        writes: Mapping[str, Sequence[Any]] | None = None,
    ) -> list[Record]:
        """Store new PENDING records and claim their idempotency keys, all or nothing.

        A record whose key has a live claim (including one made earlier in the same batch) is
        not stored; the record holding the claim is returned in its place, as stored (so its
        id differs from the one asked for). Returns one record per input, in order.

        ``writes`` maps a record id to raw, store-native writes (Redis commands, SQL statements)
        run in the same atomic operation, only for the records actually stored: how a backend
        whose messages live in the store's server writes record, claim and message at once.
        A store without native writes raises ``TypeError`` when given some.
        """
        ...

    def write(self, writes: Sequence[Any]) -> None:
        """Run raw, store-native writes (as in ``create``) atomically, all or none."""
        ...

    def discard(self, ids: Sequence[str]) -> None:
        """Roll back ``create``: delete these records, if still PENDING, and release their keys."""
        ...

    def claim_holder(self, key: str) -> str | None:
        """The id of the record the claim on idempotency key ``key`` points at, live or not;
        ``None`` when there is none (never claimed, or released)."""
        ...

    def get(self, id: str) -> Record:
        """The record; raises :class:`~taskbridge.ResultNotFound` for an unknown id."""
        ...

    def get_many(self, ids: Sequence[str]) -> list[Record | None]:
        """Records for ``ids`` in order, ``None`` for unknown ones."""
        ...

    def start(self, id: str, attempt: int, *, worker: str, now: float) -> Record | None:
        """PENDING/RETRYING with ``attempts == attempt - 1`` and no cancel request → RUNNING.

        Sets ``attempts=attempt``, ``started_at``, ``heartbeat_at`` and ``worker``. Returns the
        new record, or ``None`` when the record is not in that state (a duplicate delivery, a
        canceled or finished task): the caller must then not run the task.
        """
        ...

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
        cpu_time: float | None = None,
        peak_memory: int | None = None,
    ) -> Record | None:
        """End attempt ``attempt``: RUNNING (with that attempt number) → ``status``.

        ``status`` is SUCCEEDED (stores ``value``; keeps the key claimed ``idempotency_ttl``
        more seconds), FAILED or CANCELED (stores ``error``; releases the key), or RETRYING
        (stores ``error``, ``run_at`` and the next attempt's ``envelope``). FAILED also stores
        ``envelope`` when given (a chain's failing step). Final states set ``finished_at``.
        The attempt's history entry gets ``now``, the outcome, the error and the resources
        used. Returns ``None`` when the record is no longer RUNNING that attempt (the reaper
        or a cancel got there first).
        """
        ...

    def heartbeat(self, id: str, attempt: int, *, now: float) -> bool | None:
        """Record that attempt ``attempt`` is alive; returns its cancel request flag.

        ``None`` when the record is no longer RUNNING that attempt.
        """
        ...

    def set_progress(
        self, id: str, percent: float, message: str, *, now: float | None = None
    ) -> None:
        """Store the task's latest progress report, made at ``now`` (default: the current
        time), and add it to the record's bounded progress log."""
        ...

    def cancel(self, id: str, *, now: float) -> Record:
        """PENDING/RETRYING → CANCELED (key released); RUNNING → ``cancel_requested``.

        A final record is returned unchanged. Raises ``ResultNotFound`` for an unknown id.
        """
        ...

    def mark_retried(self, id: str, new_id: str) -> Record | None:
        """Set ``retried_as`` on a FAILED record not yet retried; ``None`` otherwise."""
        ...

    def dismiss(self, id: str, *, now: float) -> Record | None:
        """Set ``discarded_at`` on a record on the dead-letter list (FAILED, neither retried
        nor discarded); ``None`` otherwise. The record stays until purged."""
        ...

    def stale(self, *, before: float, limit: int = 100) -> list[Record]:
        """RUNNING records whose last heartbeat is older than ``before``."""
        ...

    def list(
        self, filter: RecordFilter, *, limit: int = 100, offset: int = 0
    ) -> builtins.list[Record]:
        """Records matching ``filter``, newest ``enqueued_at`` first."""
        ...

    def count(self, filter: RecordFilter) -> int:
        """How many records match ``filter``, without loading them."""
        ...

    def purge(
        self,
        *,
        now: float,
        result_ttl: float,
        failed_ttl: float | None = None,
        limit: int | None = None,
    ) -> int:
        """Delete final records that finished ``result_ttl`` seconds ago or more (FAILED ones
        ``failed_ttl``, when given), at most ``limit`` of them (oldest first within a status),
        releasing their keys, and expired leases; returns how many records were deleted."""
        ...

    def lease(self, key: str, holder: str, *, now: float, ttl: float) -> bool:
        """Take or renew the lease on ``key`` for ``holder`` until ``now + ttl``, atomically:
        only if nobody holds it, its lease expired, or ``holder`` holds it already. Returns
        whether ``holder`` holds it now. Leases are bookkeeping, never records."""
        ...

    def release_lease(self, key: str, holder: str) -> None:
        """End ``holder``'s lease on ``key``, if it holds one."""
        ...

    def lease_holder(self, key: str, *, now: float) -> str | None:
        """Who holds an unexpired lease on ``key`` at ``now``, or ``None``."""
        ...

    def put_schedule(self, name: str, data: dict[str, Any]) -> None:
        """Create or replace the stored schedule ``name`` (a dict of JSON values)."""
        ...

    def get_schedule(self, name: str) -> dict[str, Any] | None:
        """The stored schedule, or ``None``."""
        ...

    def list_schedules(self) -> dict[str, dict[str, Any]]:
        """Every stored schedule by name."""
        ...

    def delete_schedule(self, name: str) -> bool:
        """Remove a stored schedule; False if there was none."""
        ...

    def register_worker(self, worker_id: str, info: dict[str, Any], *, ttl: float) -> None:
        """Announce a live worker for ``ttl`` seconds (renewed while it runs)."""
        ...

    def unregister_worker(self, worker_id: str) -> None:
        """Remove a worker's announcement at shutdown."""
        ...

    def workers(self) -> builtins.list[dict[str, Any]]:
        """The workers announced and not expired."""
        ...

    def ping(self) -> None:
        """Raise ``EnqueueError`` if the store cannot be reached."""
        ...

    def close(self) -> None:
        """Release connections and file handles."""
        ...


@runtime_checkable
class DeferredPublish(Protocol):
    """Optional: a store whose writes can join a transaction the application has open (the
    Django store inside ``transaction.atomic()``).

    The bridge then publishes a new execution's message only after that transaction commits,
    so a rollback leaves neither record nor message; a record whose message was never sent
    (the producer died between commit and send) stays marked *unsent*, and workers send it
    after a grace period (``resend_unsent``).
    """

    def publish_after_commit(
        self, ids: Sequence[str], publish: Callable[[], None], *, now: float
    ) -> bool:
        """If the records ``ids`` were just written inside a transaction still open in this
        thread: mark them unsent (in that transaction), arrange for ``publish`` to run after it
        commits (never after a rollback) and return True. Otherwise return False and do
        nothing: the caller publishes at once."""
        ...

    def take_unsent(self, *, before: float, now: float, limit: int = 100) -> list[Record]:
        """Records marked unsent since before ``before``, at most ``limit``; each is handed
        out once per period (its mark is moved to ``now``), so concurrent callers do not send
        it twice."""
        ...

    def mark_sent(self, ids: Sequence[str]) -> None:
        """Clear the unsent mark of these records (their messages went out)."""
        ...


class StoreFactory(Protocol):
    """What a plugin's ``taskbridge_stores`` hook maps a URL scheme to.

    Called with the whole URL (``redis://host:6379/0?namespace=app``), and, when an engine URL
    names the store with ``?store=`` and a ``?namespace=``, with ``namespace=`` that one, which
    a store keeping several applications apart uses unless its own URL names one (so a factory
    that keeps nothing apart need not take it). Returns an open store or raises
    ``ConfigurationError`` naming what is wrong with the URL. A factory may also
    have ``isolated(url, scratch) -> ContextManager[str]``, giving the URL of a fresh, empty
    store like ``url`` and removing it on exit: the store contract suite needs it for schemes
    it does not know itself.
    """

    def __call__(self, url: str, *, namespace: str | None = None) -> StateStore: ...
