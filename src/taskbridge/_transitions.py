"""The state changes of the store protocol as pure functions over records: the one reference
every store applies (or, for Redis's scripts, is checked against by the store contract suite).

Each change takes the record as stored (``None`` for an unknown id) and returns a
:class:`Change`, or ``None`` where ``StateStore`` says the record is "not in that state". Every
status change goes through :func:`move`, which enforces ``TRANSITIONS``.
"""

from __future__ import annotations

from typing import Any

import attrs

from taskbridge import _json
from taskbridge._envelope import Envelope
from taskbridge._errors import InvalidTransition
from taskbridge._record import (
    PROGRESS_LOG_SIZE,
    Attempt,
    ErrorInfo,
    ProgressEntry,
    Record,
    history_error,
    latest_attempts,
)
from taskbridge._status import TRANSITIONS, WAITING, Status

__all__ = [
    "Change",
    "InvalidTransition",
    "Lease",
    "can_discard",
    "cancel",
    "check",
    "dismiss",
    "expired",
    "finish",
    "heartbeat",
    "holds_claim",
    "in_dead_letters",
    "is_stale",
    "mark_retried",
    "move",
    "set_progress",
    "start",
    "take_lease",
]


@attrs.frozen
class Change:
    """A record's new state, and whether the claim on its idempotency key goes with it.

    ``record`` is the very object passed in when nothing changed (a cancel of a final record),
    so a store can skip the write.
    """

    record: Record
    releases_claim: bool = False


def check(old: Status, new: Status, id: str = "") -> None:
    """Raise :class:`InvalidTransition` unless ``old → new`` is in ``TRANSITIONS``."""
    if new not in TRANSITIONS[old]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[old])) or "nothing (final)"
        where = f" of record {id!r}" if id else ""
        raise InvalidTransition(
            f"{old.value} → {new.value}{where} is not an allowed transition ({old.value} may "
            f"become {allowed}); this is a bug in the store or its caller"
        )


def move(record: Record, status: Status, **changes: Any) -> Record:
    """``record`` moved to ``status`` with ``changes``, if ``TRANSITIONS`` allows the move."""
    check(record.status, status, record.id)
    return attrs.evolve(record, status=status, **changes)


def holds_claim(owner: Record | None, *, now: float, idempotency_ttl: float) -> bool:
    """Is a claim pointing at ``owner`` live? While PENDING, RUNNING or RETRYING, and SUCCEEDED
    until ``finished_at + idempotency_ttl``; FAILED, CANCELED and deleted records hold nothing."""
    if owner is None or not owner.status.holds_idempotency_key:
        return False
    return owner.status is not Status.SUCCEEDED or (owner.finished_at or 0) + idempotency_ttl > now


def _running(record: Record | None, attempt: int) -> bool:
    return record is not None and record.status is Status.RUNNING and record.attempts == attempt


def start(record: Record | None, attempt: int, *, worker: str, now: float) -> Change | None:
    """PENDING/RETRYING with ``attempts == attempt - 1`` and no cancel request → RUNNING."""
    if (
        record is None
        or record.status not in WAITING
        or record.attempts != attempt - 1
        or record.cancel_requested
    ):
        return None
    history = (*record.attempt_history, Attempt(attempt, worker=worker, started_at=now))
    return Change(move(
        record, Status.RUNNING, attempts=attempt, started_at=now, heartbeat_at=now, worker=worker,
        attempt_history=latest_attempts(history, attempt),
    ))


def _ended(record: Record, attempt: int, **end: Any) -> tuple[Attempt, ...]:
    """The attempt history with attempt ``attempt`` ended as ``end`` says (an entry is made
    for an attempt started before records kept their history)."""
    history = list(record.attempt_history)
    if history and history[-1].attempt == attempt:
        history[-1] = attrs.evolve(history[-1], **end)
    else:
        history.append(Attempt(attempt, **end))
    return latest_attempts(history, attempt)


def finish(
    record: Record | None,
    attempt: int,
    status: Status,
    *,
    now: float,
    value: Any = None,
    error: ErrorInfo | None = None,
    run_at: float | None = None,
    envelope: Envelope | None = None,
    cpu_time: float | None = None,
    peak_memory: int | None = None,
) -> Change | None:
    """End attempt ``attempt`` of a RUNNING record as ``status`` (see ``StateStore.finish``),
    and its entry in the attempt history with the outcome, the error and what it cost.

    Raises :class:`InvalidTransition` for a ``status`` RUNNING may not become, whatever the
    record's state, so a caller's mistake shows on the first call.
    """
    check(Status.RUNNING, status, record.id if record else "")
    if not _running(record, attempt):
        return None
    assert record is not None
    history = _ended(
        record, attempt, finished_at=now, outcome=status.value, error=history_error(error),
        cpu_time=cpu_time, peak_memory=peak_memory,
    )
    if status is Status.RETRYING:
        return Change(move(record, status, error=error, run_at=run_at, envelope=envelope,
                           attempt_history=history))
    kept = {"envelope": envelope} if status is Status.FAILED and envelope is not None else {}
    # The value as every store keeps it: its JSON form (tuples become lists).
    done = move(
        record, status, value=_json.loads(_json.dumps(value)), error=error, finished_at=now,
        attempt_history=history, **kept,
    )
    return Change(done, releases_claim=not status.holds_idempotency_key)


def heartbeat(record: Record | None, attempt: int, *, now: float) -> Change | None:
    """Attempt ``attempt`` is alive: a RUNNING record gets ``heartbeat_at = now``. The store
    answers the new record's ``cancel_requested``."""
    if not _running(record, attempt):
        return None
    assert record is not None
    return Change(attrs.evolve(record, heartbeat_at=now))


def set_progress(
    record: Record | None, percent: float, message: str, *, now: float
) -> Change | None:
    """The task's latest progress report, also added to the record's progress log (which keeps
    the latest ``PROGRESS_LOG_SIZE``); ``None`` for an unknown record (nothing is created)."""
    if record is None:
        return None
    entry = ProgressEntry(now, float(percent), message)
    log = (*record.progress_log, entry)[-PROGRESS_LOG_SIZE:]
    return Change(attrs.evolve(record, progress=(float(percent), message), progress_log=log))


def cancel(record: Record, *, now: float) -> Change:
    """PENDING/RETRYING → CANCELED, releasing the key; RUNNING → ``cancel_requested``; a final
    record is returned unchanged."""
    if record.status in WAITING:
        return Change(move(record, Status.CANCELED, finished_at=now), releases_claim=True)
    if record.status is Status.RUNNING:
        return Change(attrs.evolve(record, cancel_requested=True))
    return Change(record)


def in_dead_letters(record: Record | None) -> bool:
    """FAILED, and neither retried nor discarded: on the dead-letter list."""
    return (
        record is not None and record.status is Status.FAILED and not record.retried_as
        and record.discarded_at is None
    )


def mark_retried(record: Record | None, new_id: str) -> Change | None:
    """A FAILED record not yet retried (discarded or not) gets ``retried_as = new_id``."""
    if record is None or record.status is not Status.FAILED or record.retried_as:
        return None
    return Change(attrs.evolve(record, retried_as=new_id))


def dismiss(record: Record | None, *, now: float) -> Change | None:
    """A record on the dead-letter list gets ``discarded_at = now``, which takes it off; it
    stays readable until purged."""
    if not in_dead_letters(record):
        return None
    assert record is not None
    return Change(attrs.evolve(record, discarded_at=now))


def can_discard(record: Record | None) -> bool:
    """``discard`` deletes a record (releasing its key) only while it is still PENDING."""
    return record is not None and record.status is Status.PENDING


def expired(
    record: Record, *, now: float, result_ttl: float, failed_ttl: float | None = None
) -> bool:
    """``purge`` deletes (and releases the key of) final records finished ``result_ttl`` ago,
    FAILED ones ``failed_ttl`` ago (``None``: ``result_ttl`` too)."""
    if not record.status.is_final:
        return False
    ttl = failed_ttl if record.status is Status.FAILED and failed_ttl is not None else result_ttl
    return (record.finished_at or 0) + ttl <= now


def is_stale(record: Record, *, before: float) -> bool:
    """``stale`` finds RUNNING records whose last heartbeat is older than ``before``."""
    return record.status is Status.RUNNING and (record.heartbeat_at or 0) < before


@attrs.frozen
class Lease:
    """Who holds a lease (``StateStore.lease``), and until when (a Unix time)."""

    holder: str
    expires_at: float


def take_lease(held: Lease | None, holder: str, *, now: float, ttl: float) -> Lease | None:
    """The lease ``holder`` gets for ``ttl`` seconds from ``now``: if nobody holds it, it has
    expired, or ``holder`` holds it already (a renewal); ``None`` while another holds it."""
    if held is not None and held.holder != holder and held.expires_at > now:
        return None
    return Lease(holder, now + ttl)
