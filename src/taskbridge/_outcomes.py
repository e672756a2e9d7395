"""An attempt's outcome told to the engine that ran it, so the engine's own tools agree with the
store: Celery's logs, events and Flower, RQ's failed registry, ``rq info`` and rq-dashboard."""

from __future__ import annotations

from taskbridge._record import Record

#: The longest error message handed to an engine; the whole error stays in the store.
MESSAGE_LIMIT = 500


class AttemptFailed(Exception):
    """What a backend's task body raises to its engine after an attempt that failed.

    It carries the execution's id and its error's type and message, never the task's
    arguments or return value: those stay in the store. The core has already recorded the
    failure and sent any retry, so the engine must not retry or requeue on it.
    """

    @classmethod
    def of(cls, record: Record) -> AttemptFailed:
        """The failure of ``record``'s latest attempt (a FAILED or RETRYING record)."""
        error = record.error
        detail = f"{error.type}: {error.message}" if error else "no error recorded"
        if len(detail) > MESSAGE_LIMIT:
            detail = detail[:MESSAGE_LIMIT] + "..."
        return cls(
            f"{record.task_name} [{record.id}] attempt {record.attempts} of "
            f"{record.max_attempts} failed ({record.status.value}): {detail}"
        )

