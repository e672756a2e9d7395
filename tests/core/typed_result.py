"""What a type checker sees on a Result: checked by mypy in ``test_typing.py``, never run."""

from __future__ import annotations

import datetime as dt
from typing import Any, assert_type

from taskbridge import ErrorInfo, Result, Status


def check(result: Result) -> None:
    assert_type(result.id, str)
    assert_type(result.task_name, str)
    assert_type(result.queue, str)
    assert_type(result.status, Status)
    assert_type(result.value, Any)
    assert_type(result.error, ErrorInfo | None)
    assert_type(result.attempts, int)
    assert_type(result.max_attempts, int)
    assert_type(result.progress, tuple[float, str] | None)
    assert_type(result.args, list[Any])
    assert_type(result.kwargs, dict[str, Any])
    assert_type(result.priority, int)
    assert_type(result.idempotency_key, str | None)
    assert_type(result.deduplicated, bool)
    assert_type(result.retried_as, str | None)
    assert_type(result.enqueued_at, dt.datetime | None)
    assert_type(result.run_at, dt.datetime | None)
    assert_type(result.started_at, dt.datetime | None)
    assert_type(result.finished_at, dt.datetime | None)
    assert_type(result.duration, dt.timedelta | None)
    assert_type(result.refresh(), Result)
    assert_type(result.cancel(), Result)
    assert_type(result.wait(timeout=1.0), Any)
