"""Poison messages: bytes on a Huey queue that are not taskbridge JSON are reported, never run."""

from __future__ import annotations

import logging
import re

from taskbridge.plugin import current_worker

logger = logging.getLogger("taskbridge.huey")

# taskbridge ids are uuid4().hex. Searching the raw bytes for them needs no decoding at all,
# so a pickle is never unpickled (which would run whatever code it carries).
_ID = re.compile(rb"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")
_MAX_CANDIDATES = 20

POISON_ERROR = "taskbridge_huey.MalformedMessage"


def candidate_ids(raw: bytes) -> list[str]:
    """Strings in ``raw`` shaped like taskbridge ids, first seen first, without duplicates."""
    found: dict[str, None] = {}
    for match in _ID.finditer(raw):
        found.setdefault(match.group().decode(), None)
        if len(found) >= _MAX_CANDIDATES:
            break
    return list(found)


def report(queue_name: str, raw: bytes, problem: Exception) -> list[str]:
    """Log a message that cannot be read, and fail the waiting records it names (in a worker;
    a producer-side Huey never reads messages).

    Returns the ids of the records marked FAILED.
    """
    ids = candidate_ids(bytes(raw))
    failed: list[str] = []
    for id in ids:
        if _fail(id, queue_name, problem):
            failed.append(id)
    logger.error(
        "refused a message on Huey queue %s that is not a taskbridge JSON message (%d bytes, "
        "ids found in it: %s; marked FAILED: %s): %s. It was not run; enqueue only through "
        "taskbridge, which writes strict JSON.",
        queue_name, len(raw), ", ".join(ids) or "none", ", ".join(failed) or "none", problem,
    )
    return failed


def _fail(id: str, queue_name: str, problem: Exception) -> bool:
    message = (
        f"a message for this task on Huey queue {queue_name!r} was not a taskbridge JSON "
        f"message and was refused without running ({problem}); re-enqueue the task through "
        "taskbridge"
    )
    return current_worker().reject(id, POISON_ERROR, message) is not None
