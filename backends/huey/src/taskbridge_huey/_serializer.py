"""Strict JSON on Huey's wire: Huey's message fields plus the taskbridge envelope, never pickle."""

from __future__ import annotations

import datetime as dt
from typing import Any

from huey.registry import Message
from huey.serializer import Serializer

from taskbridge import Envelope
from taskbridge.plugin import ENVELOPE_DEPTH, dumps_json, loads_json

#: Bumped if this wire format changes; a worker refuses a message of another version.
WIRE_VERSION = 1
#: How deeply a message nests at most: the envelope, one level inside the message.
MESSAGE_DEPTH = ENVELOPE_DEPTH + 1

# Huey features a taskbridge message never uses (chains, callbacks, expiry live in the core);
# a message carrying any of them was not written by taskbridge and is refused.
_MUST_BE_EMPTY = ("on_complete", "on_error", "expires", "expires_resolved", "timeout",
                  "chord_config")


class MalformedMessage(ValueError):
    """Bytes on a Huey queue that are not a taskbridge message."""


def _to_timestamp(moment: dt.datetime | None) -> float | None:
    # Huey (utc=True) keeps naive datetimes in UTC.
    if moment is None:
        return None
    return moment.replace(tzinfo=dt.UTC).timestamp()


def _from_timestamp(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if type(value) not in (int, float):
        raise MalformedMessage(f"eta {value!r} is not a Unix timestamp")
    return dt.datetime.fromtimestamp(value, dt.UTC).replace(tzinfo=None)


def message_for(envelope: Envelope) -> Message:
    """The Huey message that carries ``envelope``: its id, task name, eta and priority."""
    return Message(
        id=envelope.id,
        name=envelope.task_name,
        eta=_from_timestamp(envelope.run_at),
        retries=0,
        retry_delay=0,
        priority=envelope.priority,
        args=(envelope,),
        kwargs={},
    )


def message_to_dict(message: Message) -> dict[str, Any]:
    """The JSON form of a taskbridge message; ``MalformedMessage`` for anything else."""
    for field in _MUST_BE_EMPTY:
        if getattr(message, field) is not None:
            raise MalformedMessage(f"Huey field {field!r} is not used by taskbridge messages")
    if message.kwargs or len(message.args) != 1 or not isinstance(message.args[0], Envelope):
        raise MalformedMessage(
            "a taskbridge Huey message carries exactly one Envelope as its only argument; "
            "enqueue through taskbridge, not through Huey's task API"
        )
    return {
        "taskbridge": WIRE_VERSION,
        "id": message.id,
        "name": message.name,
        "eta": _to_timestamp(message.eta),
        "priority": message.priority,
        "envelope": message.args[0].to_dict(),
    }


def message_from_dict(data: dict[str, Any]) -> Message:
    try:
        envelope = Envelope.from_dict(data["envelope"])
        fields = (data["id"], data["name"], data["priority"])
    except (KeyError, ValueError) as exc:
        raise MalformedMessage(f"not a taskbridge message: {exc}") from exc
    if not all(isinstance(f, str) for f in fields[:2]) or type(fields[2]) is not int:
        raise MalformedMessage("message id/name must be str and priority an int")
    return Message(
        id=fields[0],
        name=fields[1],
        eta=_from_timestamp(data.get("eta")),
        retries=0,
        retry_delay=0,
        priority=fields[2],
        args=(envelope,),
        kwargs={},
    )


class JSONSerializer(Serializer):  # type: ignore[misc]
    """Huey serializer that reads and writes strict JSON and refuses everything else.

    It carries two kinds of value: taskbridge messages, and the ``(revoke_until,
    revoke_once)`` pairs Huey stores when a task is revoked.
    """

    def _serialize(self, data: Any) -> bytes:
        if isinstance(data, Message):
            document: dict[str, Any] = message_to_dict(data)
        elif isinstance(data, tuple) and len(data) == 2 and isinstance(data[1], bool):
            until = data[0]
            document = {"taskbridge": WIRE_VERSION,
                        "revoke": [_to_timestamp(until) if until is not None else None, data[1]]}
        else:
            raise MalformedMessage(
                f"taskbridge's Huey serializer writes JSON messages only, not "
                f"{type(data).__name__}; Huey results, locks and chords are not used"
            )
        return dumps_json(document).encode()

    def _deserialize(self, data: bytes) -> Any:
        try:
            document = loads_json(bytes(data), max_depth=MESSAGE_DEPTH)
        except ValueError as exc:
            raise MalformedMessage(f"not strict JSON a worker reads ({exc}); pickled, foreign or "
                                   "nested too deep") from exc
        if not isinstance(document, dict) or document.get("taskbridge") != WIRE_VERSION:
            raise MalformedMessage(
                f"not a taskbridge v{WIRE_VERSION} message; upgrade the producer or the worker"
            )
        if "revoke" in document:
            until, once = document["revoke"]
            return (_from_timestamp(until), bool(once))
        return message_from_dict(document)
