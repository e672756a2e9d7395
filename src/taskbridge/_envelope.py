"""The envelope: the one value a backend moves from producer to worker."""

from __future__ import annotations

import uuid
from typing import Any

import attrs

from taskbridge import _json
from taskbridge._errors import ArgumentsNotSerializable

#: Bumped when the wire format changes incompatibly; workers refuse other versions.
ENVELOPE_VERSION = 1
#: How deeply an envelope's wire form nests at most: a chain step's arguments sit four levels
#: below the envelope (envelope, ``chain``, the step, its ``args``), each at most
#: ``MAX_DEPTH`` deep. Engines add their own framing around it.
ENVELOPE_DEPTH = _json.MAX_DEPTH + 4


def new_id() -> str:
    """A fresh execution id."""
    return uuid.uuid4().hex


def _to_tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value)


@attrs.frozen
class Step:
    """One later step of a chain: a task name, the arguments it adds to the previous value, and
    the queue and priority given with ``using()`` on its signature (``None``: the task's own)."""

    task_name: str
    args: tuple[Any, ...] = attrs.field(default=(), converter=_to_tuple)
    kwargs: dict[str, Any] = attrs.field(factory=dict)
    queue: str | None = None
    priority: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "task": self.task_name, "args": list(self.args), "kwargs": self.kwargs
        }
        if self.queue is not None:
            data["queue"] = self.queue
        if self.priority is not None:
            data["priority"] = self.priority
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Step:
        if not isinstance(data, dict):
            raise TypeError(f"a chain step is a JSON object, got {type(data).__name__}")
        data = {"args": [], "kwargs": {}, "queue": None, "priority": None, **data}
        return cls(_typed(data, "task", str), _typed(data, "args", list),
                   _typed(data, "kwargs", dict), _typed(data, "queue", (str, type(None))),
                   _typed(data, "priority", (int, type(None))))


@attrs.frozen
class Envelope:
    """Everything a worker needs to run one attempt of one task.

    Times are Unix timestamps (float seconds, UTC). ``attempt`` is the 1-based number of the
    attempt this message carries; a retry is a new envelope with ``attempt + 1``.
    """

    id: str
    task_name: str
    args: tuple[Any, ...] = attrs.field(default=(), converter=_to_tuple)
    kwargs: dict[str, Any] = attrs.field(factory=dict)
    queue: str = "default"
    priority: int = 0
    attempt: int = 1
    max_attempts: int = 1
    enqueued_at: float = 0.0
    run_at: float | None = None
    timeout: float | None = None
    idempotency_key: str | None = None
    #: Steps still to run after this one, and the id of the chain's own record.
    chain: tuple[Step, ...] = attrs.field(default=(), converter=_to_tuple)
    chain_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The wire form: a dict of JSON values only."""
        return {
            "v": ENVELOPE_VERSION,
            "id": self.id,
            "task": self.task_name,
            "args": list(self.args),
            "kwargs": self.kwargs,
            "queue": self.queue,
            "priority": self.priority,
            "attempt": self.attempt,
            "max_attempts": self.max_attempts,
            "enqueued_at": self.enqueued_at,
            "run_at": self.run_at,
            "timeout": self.timeout,
            "idempotency_key": self.idempotency_key,
            "chain": [step.to_dict() for step in self.chain],
            "chain_id": self.chain_id,
        }

    def dumps(self) -> str:
        """Serialise to strict JSON text."""
        return _json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: Any) -> Envelope:
        """Rebuild from the wire form; raises ``ValueError`` on anything malformed."""
        if not isinstance(data, dict):
            raise ValueError(f"an envelope is a JSON object, got {type(data).__name__}")
        if data.get("v") != ENVELOPE_VERSION:
            raise ValueError(
                f"envelope version {data.get('v')!r} is not {ENVELOPE_VERSION}; "
                "upgrade the worker or the producer so both speak the same version"
            )
        try:
            envelope = cls(
                id=_typed(data, "id", str),
                task_name=_typed(data, "task", str),
                args=_typed(data, "args", list),
                kwargs=_typed(data, "kwargs", dict),
                queue=_typed(data, "queue", str),
                priority=_typed(data, "priority", int),
                attempt=_typed(data, "attempt", int),
                max_attempts=_typed(data, "max_attempts", int),
                enqueued_at=float(_typed(data, "enqueued_at", (int, float))),
                run_at=_optional_float(data, "run_at"),
                timeout=_optional_float(data, "timeout"),
                idempotency_key=_typed(data, "idempotency_key", (str, type(None))),
                chain=tuple(Step.from_dict(s) for s in _typed(data, "chain", list)),
                chain_id=_typed(data, "chain_id", (str, type(None))),
            )
            _json.check_arguments(envelope.args, envelope.kwargs)
            for index, step in enumerate(envelope.chain):
                try:
                    _json.check_arguments(step.args, step.kwargs)
                except ArgumentsNotSerializable as exc:
                    raise ArgumentsNotSerializable(f"chain[{index}] {exc}") from None
        except KeyError as exc:
            raise ValueError(f"malformed envelope: missing field {exc.args[0]!r}") from exc
        except (TypeError, ArgumentsNotSerializable) as exc:
            raise ValueError(f"malformed envelope: {exc}") from exc
        return envelope

    @classmethod
    def loads(cls, text: str | bytes) -> Envelope:
        """Parse the strict JSON wire form; raises ``ValueError`` on anything else (text nested
        deeper than ``ENVELOPE_DEPTH`` is refused before it is parsed)."""
        return cls.from_dict(_json.loads(text, max_depth=ENVELOPE_DEPTH))


def _typed(data: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = data[key]
    # JSON true/false are bools, never numbers, though bool subclasses int in Python.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise TypeError(f"field {key!r} has type {type(value).__name__}")
    return value


def _optional_float(data: dict[str, Any], key: str) -> float | None:
    value = _typed(data, key, (int, float, type(None)))
    return None if value is None else float(value)
