"""The one status model every backend reports, and the transitions it allows."""

from __future__ import annotations

import enum


class Status(enum.StrEnum):
    """Where an execution is in its life; the last three are final."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    RETRYING = "RETRYING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"

    @property
    def is_final(self) -> bool:
        """True for SUCCEEDED, FAILED and CANCELED: states that never change again."""
        return self in FINAL

    @property
    def holds_idempotency_key(self) -> bool:
        """True while an idempotency key pointing at this execution is still taken."""
        return self not in (Status.FAILED, Status.CANCELED)


FINAL = frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELED})
WAITING = frozenset({Status.PENDING, Status.RETRYING})

#: The allowed transitions (CONTRACT §4); stores enforce them atomically.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.RUNNING, Status.CANCELED}),
    Status.RUNNING: frozenset(
        {Status.SUCCEEDED, Status.FAILED, Status.RETRYING, Status.CANCELED}
    ),
    Status.RETRYING: frozenset({Status.RUNNING, Status.CANCELED}),
    Status.SUCCEEDED: frozenset(),
    Status.FAILED: frozenset(),
    Status.CANCELED: frozenset(),
}
