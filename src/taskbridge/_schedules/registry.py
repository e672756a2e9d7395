"""Schedules declared in code: the ``@periodic`` decorator and the declarations it collects."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from taskbridge._errors import InvalidTaskOptions
from taskbridge._schedules.calls import check_call
from taskbridge._schedules.entry import ScheduleEntry, check_schedule
from taskbridge._schedules.values import Schedule
from taskbridge._task import Task

_lock = threading.Lock()
_code_schedules: dict[str, ScheduleEntry] = {}


def periodic(
    schedule: Schedule,
    *,
    name: str | None = None,
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    queue: str | None = None,
    priority: int | None = None,
    catch_up: bool = False,
) -> Callable[[Task[Any, Any]], Task[Any, Any]]:
    """Run the decorated task on ``schedule``; stack it above ``@task``.

    The schedule is named ``name`` (the task's name by default) and is copied into the
    bridge's store when a scheduler starts; pausing it there survives restarts. The task gets
    the tick's Unix time only if it declares a ``timestamp`` parameter (see
    :mod:`taskbridge._schedules.calls`); ``args`` and ``kwargs`` are checked against its
    signature now.
    """
    check_schedule(schedule)

    def decorate(target: Task[Any, Any]) -> Task[Any, Any]:
        if not isinstance(target, Task):
            raise InvalidTaskOptions(
                f"@periodic decorates a task: put it above @task on {target!r}"
            )
        entry = ScheduleEntry(
            name=name or target.name, task=target.name, schedule=schedule, args=args,
            kwargs=dict(kwargs or {}), queue=queue, priority=priority, catch_up=catch_up,
            source="code",
        )
        check_call(entry.name, target, entry.args, entry.kwargs)
        with _lock:
            existing = _code_schedules.get(entry.name)
            if existing is not None and existing.task != entry.task:
                raise InvalidTaskOptions(
                    f"schedule name {entry.name!r} is already used by task {existing.task}; "
                    "pass name='...' to @periodic"
                )
            _code_schedules[entry.name] = entry
        return target

    return decorate


def code_schedules() -> dict[str, ScheduleEntry]:
    """A snapshot of the schedules declared with ``@periodic`` in this process."""
    with _lock:
        return dict(_code_schedules)


def forget_code_schedule(name: str) -> None:
    """Drop a ``@periodic`` declaration (for tests that declare throwaway schedules)."""
    with _lock:
        _code_schedules.pop(name, None)
