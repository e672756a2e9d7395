"""Execution records: the stored state of one task execution, as a frozen value."""

from __future__ import annotations

import traceback as _traceback
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
    #: The envelope of the next attempt to run, so crash recovery and ``retry`` can resend it.
    envelope: Envelope | None = None
    #: For a chain's own record: the id of its first step's record.
    first_step: str | None = None
    #: Set on a record that ``Bridge.retry`` re-enqueued; the id of the new execution.
    retried_as: str | None = None

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
            "envelope": self.envelope.to_dict() if self.envelope else None,
            "first_step": self.first_step,
            "retried_as": self.retried_as,
        }

    def dumps(self) -> str:
        return _json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        progress = data.get("progress")
        envelope = data.get("envelope")
        return cls(
            id=data["id"],
            task_name=data["task_name"],
            queue=data["queue"],
            status=Status(data["status"]),
            args=data.get("args", ()),
            kwargs=data.get("kwargs", {}),
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
            envelope=Envelope.from_dict(envelope) if envelope else None,
            # Records written by taskbridge 0.1.0 name it "chain_id".
            first_step=data.get("first_step", data.get("chain_id")),
            retried_as=data.get("retried_as"),
        )

    @classmethod
    def loads(cls, text: str | bytes) -> Record:
        return cls.from_dict(_json.loads(text))
