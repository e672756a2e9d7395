"""The JSON shapes of the API: an execution (CONTRACT §15) and the values inside it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from taskbridge import Record


def iso(timestamp: float | None) -> str | None:
    """A Unix time as ISO 8601 UTC (``2030-01-01T09:00:00.123456+00:00``), or ``None``."""
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat()


def _attempt(entry: Any) -> dict[str, Any]:
    data = attrs.asdict(entry) if attrs.has(type(entry)) else dict(entry)
    for field in ("started_at", "finished_at"):
        if isinstance(data.get(field), int | float):
            data[field] = iso(data[field])
    return data


def attempt_history(record: Record) -> list[dict[str, Any]]:
    """Per-attempt history (worker, times, outcome, error, resources); records written
    before stores kept it have none."""
    return [_attempt(entry) for entry in record.attempt_history]


def progress_log(record: Record) -> list[dict[str, Any]]:
    """The task's latest progress reports, oldest first, as the store kept them."""
    return [{"at": iso(entry.at), "percent": entry.percent, "message": entry.message}
            for entry in record.progress_log]


def execution(record: Record) -> dict[str, Any]:
    """One execution: the ``Result`` of CONTRACT §4 as JSON, plus what operators need."""
    duration = None
    if record.started_at is not None and record.finished_at is not None:
        duration = max(0.0, record.finished_at - record.started_at)
    return {
        "id": record.id,
        "task_name": record.task_name,
        "queue": record.queue,
        "status": record.status.value,
        "attempts": record.attempts,
        "max_attempts": record.max_attempts,
        "args": list(record.args),
        "kwargs": dict(record.kwargs),
        "value": record.value,
        "error": record.error.to_dict() if record.error else None,
        "progress": (
            {"percent": record.progress[0], "message": record.progress[1]}
            if record.progress else None
        ),
        "enqueued_at": iso(record.enqueued_at),
        "run_at": iso(record.run_at),
        "started_at": iso(record.started_at),
        "finished_at": iso(record.finished_at),
        "duration": duration,
        "idempotency_key": record.idempotency_key,
        "worker": record.worker,
        "priority": record.priority,
        "cancel_requested": record.cancel_requested,
        "retried_as": record.retried_as,
        "discarded_at": iso(record.discarded_at),
        "progress_log": progress_log(record),
        "attempt_history": attempt_history(record),
    }


def execution_summary(record: Record) -> dict[str, Any]:
    """The few fields a list row or a "last run" cell shows."""
    return {
        "id": record.id, "task_name": record.task_name, "status": record.status.value,
        "enqueued_at": iso(record.enqueued_at), "finished_at": iso(record.finished_at),
    }
