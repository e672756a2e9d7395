"""Poison messages: bytes on a Huey queue that are not taskbridge JSON are reported, never run."""

from __future__ import annotations

import logging

from taskbridge.plugin import current_worker, loads_json_outline

logger = logging.getLogger("taskbridge.huey")

POISON_ERROR = "taskbridge_huey.MalformedMessage"
#: Longer than any id taskbridge makes (32 hex digits); a longer "id" names no execution.
_MAX_ID_LENGTH = 200


def message_id(raw: bytes) -> str | None:
    """The ``id`` field of a message that is a JSON object, read by a strict parse of its top
    level (deeper levels are skipped, so one nested too deep to parse whole still says whose it
    is); ``None`` for anything else. Never unpickles, never searches the bytes for ids: only
    the message's own, well-formed id names the execution it may fail."""
    try:
        document = loads_json_outline(bytes(raw), 1)
    except ValueError:  # not UTF-8, not JSON
        return None
    if not isinstance(document, dict):
        return None
    id = document.get("id")
    return id if isinstance(id, str) and 0 < len(id) <= _MAX_ID_LENGTH else None


def report(queue_name: str, raw: bytes, problem: Exception) -> str | None:
    """Log a message that cannot be read, and fail the waiting execution its own ``id`` field
    names, if any (in a worker; a producer-side Huey never reads messages).

    Returns the id of the record marked FAILED.
    """
    id = message_id(raw)
    failed = id if id is not None and _fail(id, queue_name, problem) else None
    logger.error(
        "refused a message on Huey queue %s that is not a taskbridge JSON message (%d bytes, "
        "its id field: %s; marked FAILED: %s): %s. It was not run; enqueue only through "
        "taskbridge, which writes strict JSON.",
        queue_name, len(raw), id or "none", failed or "none", problem,
    )
    return failed


def _fail(id: str, queue_name: str, problem: Exception) -> bool:
    message = (
        f"a message for this task on Huey queue {queue_name!r} was not a taskbridge JSON "
        f"message and was refused without running ({problem}); re-enqueue the task through "
        "taskbridge"
    )
    return current_worker().reject(id, POISON_ERROR, message) is not None
