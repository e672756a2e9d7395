"""Execution records: the stored state of one task execution, as a frozen value."""

from __future__ import annotations

import traceback as _traceback
from collections.abc import Iterable
from typing import Any

import attrs

from taskbridge import _json
from taskbridge._envelope import Envelope
from taskbridge._status import Status


def type_name(kind: type[BaseException]) -> str:
    """How an error's type is stored: ``KeyError``, ``taskbridge.TaskTimeout``, ``app.Oops``."""
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


@attrs.frozen
class ErrorInfo:
    """What went wrong in a failed attempt."""

    type: str
    message: str
    traceback: str = ""

    @classmethod
    def from_exception(cls, error: BaseException) -> ErrorInfo:
        kind = type(error)
        trace = "".join(_traceback.format_exception(kind, error, error.__traceback__))
        return cls(type_name(kind), str(error), trace)

    def to_dict(self) -> dict[str, str]:
        return {"type": self.type, "message": self.message, "traceback": self.traceback}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ErrorInfo | None:
        if data is None:
            return None
        return cls(data["type"], data["message"], data.get("traceback", ""))


#: How many progress reports a record keeps (the latest ones).
PROGRESS_LOG_SIZE = 50
#: How many attempts a record keeps the history of (the latest ones).
ATTEMPT_HISTORY_SIZE = 100
#: How much of an earlier attempt's error an attempt's history keeps (the error of the last
#: failed attempt is kept whole in ``Record.error``).
_HISTORY_MESSAGE = 1_000
_HISTORY_TRACEBACK = 4_000


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


@attrs.frozen
class ProgressEntry:
    """One progress report of a task: when (a Unix time), how far, and what it said."""

    at: float
    percent: float
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at, "percent": self.percent, "message": self.message}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProgressEntry:
        return cls(float(data["at"]), float(data["percent"]), str(data["message"]))


@attrs.frozen
class Attempt:
    """One attempt of an execution: who ran it, when, how it ended and what it cost.

    Times are Unix timestamps in seconds. ``outcome`` is the status the attempt ended the
    execution in (``RETRYING`` for a failed attempt followed by another), ``None`` while it
    runs. ``cpu_time`` (seconds) and ``peak_memory`` (bytes of resident memory) are measured
    where the attempt's process or thread can be told apart from others; ``None`` elsewhere.
    """

    attempt: int
    worker: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    outcome: str | None = None
    error: ErrorInfo | None = None
    cpu_time: float | None = None
    peak_memory: int | None = None

    def start_dict(self) -> dict[str, Any]:
        """What is known when the attempt starts."""
        return {"attempt": self.attempt, "worker": self.worker, "started_at": self.started_at}

    def end_dict(self) -> dict[str, Any]:
        """What is known when the attempt ends."""
        return {
            "finished_at": self.finished_at, "outcome": self.outcome,
            "error": self.error.to_dict() if self.error else None,
            "cpu_time": self.cpu_time, "peak_memory": self.peak_memory,
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.start_dict(), **self.end_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Attempt:
        peak = data.get("peak_memory")
        return cls(
            attempt=int(data["attempt"]),
            worker=data.get("worker"),
            started_at=_optional_float(data.get("started_at")),
            finished_at=_optional_float(data.get("finished_at")),
            outcome=data.get("outcome"),
            error=ErrorInfo.from_dict(data.get("error")),
            cpu_time=_optional_float(data.get("cpu_time")),
            peak_memory=None if peak is None else int(peak),
        )


def history_error(error: ErrorInfo | None) -> ErrorInfo | None:
    """``error`` as an attempt's history keeps it: the message's start, the traceback's end."""
    if error is None:
        return None
    return ErrorInfo(error.type, error.message[:_HISTORY_MESSAGE],
                     error.traceback[-_HISTORY_TRACEBACK:])


def latest_attempts(history: Iterable[Attempt], newest: int) -> tuple[Attempt, ...]:
    """The entries of ``history`` a record keeps once attempt ``newest`` is in it."""
    return tuple(a for a in history if a.attempt > newest - ATTEMPT_HISTORY_SIZE)


def _progress_log(entries: Iterable[ProgressEntry]) -> tuple[ProgressEntry, ...]:
    return tuple(entries)


def _attempts(entries: Iterable[Attempt]) -> tuple[Attempt, ...]:
    return tuple(entries)


def _same_arguments(envelope: Envelope, record: Record) -> bool:
    """Does the envelope carry the record's own call (so the record stores it once)?"""
    for mine, theirs in ((envelope.args, record.args), (envelope.kwargs, record.kwargs)):
        # JSON text tells True from 1 and 1 from 1.0, which == does not.
        if mine is not theirs and not (mine == theirs and _json.dumps(mine) == _json.dumps(
                theirs)):
            return False
    return True


@attrs.frozen
class Record:
    """Everything the store knows about one execution (a task run, or a chain).

    Times are Unix timestamps in seconds. ``attempts`` counts attempts started so far.
    """

    id: str
    task_name: str
    queue: str
    status: Status
    args: tuple[Any, ...] = attrs.field(default=(), converter=tuple)
    kwargs: dict[str, Any] = attrs.field(factory=dict)
    priority: int = 0
    attempts: int = 0
    max_attempts: int = 1
    idempotency_key: str | None = None
    enqueued_at: float = 0.0
    run_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    heartbeat_at: float | None = None
    value: Any = None
    error: ErrorInfo | None = None
    progress: tuple[float, str] | None = None
    cancel_requested: bool = False
    worker: str | None = None
    #: The envelope crash recovery and ``retry`` resend: the next attempt's; on a FAILED
    #: chain's own record, its failing step's.
    envelope: Envelope | None = None
    #: For a chain's own record: the id of its first step's record.
    first_step: str | None = None
    #: Set on a record that ``Bridge.retry`` re-enqueued; the id of the new execution.
    retried_as: str | None = None
    #: When ``Bridge.discard`` took this FAILED record off the dead-letter list.
    discarded_at: float | None = None
    #: The latest progress reports, oldest first (at most ``PROGRESS_LOG_SIZE``).
    progress_log: tuple[ProgressEntry, ...] = attrs.field(default=(), converter=_progress_log)
    #: The latest attempts, oldest first (at most ``ATTEMPT_HISTORY_SIZE``).
    attempt_history: tuple[Attempt, ...] = attrs.field(default=(), converter=_attempts)

    def stored_envelope(self) -> dict[str, Any] | None:
        """The envelope as stores keep it: without the arguments when they are the record's
        own (always, for records the bridge writes), so they are stored once."""
        if self.envelope is None:
            return None
        data = self.envelope.to_dict()
        if _same_arguments(self.envelope, self):
            del data["args"], data["kwargs"]
        return data

    def to_dict(self) -> dict[str, Any]:
        """A dict of JSON values (for stores that keep JSON documents)."""
        return {
            "id": self.id,
            "task_name": self.task_name,
            "queue": self.queue,
            "status": self.status.value,
            "args": list(self.args),
            "kwargs": self.kwargs,
            "priority": self.priority,
            "attempts": self.attempts,
            "max_attempts": self.max_attempts,
            "idempotency_key": self.idempotency_key,
            "enqueued_at": self.enqueued_at,
            "run_at": self.run_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "heartbeat_at": self.heartbeat_at,
            "value": self.value,
            "error": self.error.to_dict() if self.error else None,
            "progress": list(self.progress) if self.progress else None,
            "cancel_requested": self.cancel_requested,
            "worker": self.worker,
            "envelope": self.stored_envelope(),
            "first_step": self.first_step,
            "retried_as": self.retried_as,
            "discarded_at": self.discarded_at,
            "progress_log": [entry.to_dict() for entry in self.progress_log],
            "attempt_history": [attempt.to_dict() for attempt in self.attempt_history],
        }

    def dumps(self) -> str:
        return _json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        progress = data.get("progress")
        args, kwargs = tuple(data.get("args", ())), data.get("kwargs", {})
        return cls(
            id=data["id"],
            task_name=data["task_name"],
            queue=data["queue"],
            status=Status(data["status"]),
            args=args,
            kwargs=kwargs,
            priority=data.get("priority", 0),
            attempts=data.get("attempts", 0),
            max_attempts=data.get("max_attempts", 1),
            idempotency_key=data.get("idempotency_key"),
            enqueued_at=data.get("enqueued_at", 0.0),
            run_at=data.get("run_at"),
            started_at=data.get("started_at"),
            finished_at=data.get("finished_at"),
            heartbeat_at=data.get("heartbeat_at"),
            value=data.get("value"),
            error=ErrorInfo.from_dict(data.get("error")),
            progress=(float(progress[0]), str(progress[1])) if progress else None,
            cancel_requested=bool(data.get("cancel_requested", False)),
            worker=data.get("worker"),
            envelope=_load_envelope(data.get("envelope"), args, kwargs),
            # Records written by taskbridge 0.1.0 name it "chain_id".
            first_step=data.get("first_step", data.get("chain_id")),
            retried_as=data.get("retried_as"),
            discarded_at=_optional_float(data.get("discarded_at")),
            progress_log=[ProgressEntry.from_dict(p) for p in data.get("progress_log") or ()],
            attempt_history=[Attempt.from_dict(a) for a in data.get("attempt_history") or ()],
        )

    @classmethod
    def loads(cls, text: str | bytes) -> Record:
        return cls.from_dict(_json.loads(text))


def _load_envelope(
    data: dict[str, Any] | None, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Envelope | None:
    """The stored envelope, given the record's own arguments when it was stored without
    (records written before taskbridge stored arguments once carry their own copy)."""
    if not data:
        return None
    if "args" in data:
        return Envelope.from_dict(data)
    # The record's very objects, so that saving it again sees the same call at once.
    return attrs.evolve(Envelope.from_dict({**data, "args": [], "kwargs": {}}),
                        args=args, kwargs=kwargs)


def record_for(envelope: Envelope) -> Record:
    """The PENDING record that goes with a first envelope."""
    return Record(
        id=envelope.id,
        task_name=envelope.task_name,
        queue=envelope.queue,
        status=Status.PENDING,
        args=envelope.args,
        kwargs=envelope.kwargs,
        priority=envelope.priority,
        max_attempts=envelope.max_attempts,
        idempotency_key=envelope.idempotency_key,
        enqueued_at=envelope.enqueued_at,
        run_at=envelope.run_at,
        envelope=envelope,
    )
