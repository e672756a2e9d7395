"""Schedule entries: a named schedule, the task it runs and its arguments, as a frozen value."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Mapping
from typing import Any

import attrs

from taskbridge import _json
from taskbridge._config import check_queue
from taskbridge._errors import InvalidTaskOptions
from taskbridge._schedules.values import Schedule, schedule_from_dict
from taskbridge._task import check_priority

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,199}$")


def check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidTaskOptions(
            f"schedule name {name!r} is invalid; use 1-200 letters, digits, '_', '.', ':', '@' "
            "or '-', starting with a letter or digit"
        )
    return name


def check_schedule(value: object) -> Schedule:
    if not isinstance(value, Schedule):
        raise InvalidTaskOptions(
            f"expected a schedule such as Cron('*/5 * * * *') or Every(minutes=5), got {value!r}"
        )
    return value


def _optional_queue(value: str | None) -> str | None:
    return None if value is None else check_queue(value)


def _optional_priority(value: int | None) -> int | None:
    return None if value is None else check_priority(value)


@attrs.frozen
class ScheduleEntry:
    """A named schedule: which task runs, when, and with what.

    The task receives ``args`` and ``kwargs``, and the tick's Unix timestamp if it declares a
    ``timestamp`` parameter (first positionally, else by keyword: see
    :mod:`taskbridge._schedules.calls`). ``catch_up`` runs every tick missed while no
    scheduler ran (up to ``MAX_CATCH_UP``) instead of only the latest one.
    """

    name: str = attrs.field(validator=lambda i, a, v: check_name(v))
    task: str
    schedule: Schedule = attrs.field(validator=lambda i, a, v: check_schedule(v))
    args: tuple[Any, ...] = attrs.field(default=(), converter=tuple)
    kwargs: dict[str, Any] = attrs.field(factory=dict)
    queue: str | None = attrs.field(default=None, converter=_optional_queue)
    priority: int | None = attrs.field(default=None, converter=_optional_priority)
    paused: bool = False
    catch_up: bool = False
    #: "code" for ``@periodic`` schedules, "store" for ones added at run time.
    source: str = "store"
    #: Unix time from which ticks count: ticks at or before it never run.
    since: float = 0.0
    #: The last tick a scheduler enqueued (Unix seconds), from the scheduler's state entry.
    last_tick: int | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.kwargs, Mapping):
            raise InvalidTaskOptions(f"schedule {self.name!r}: kwargs must be a dict")
        _json.check_arguments(self.args, dict(self.kwargs))

    def next_run(self, now: float | None = None) -> dt.datetime | None:
        """When the next tick falls, or ``None`` when paused or finished."""
        if self.paused:
            return None
        start = max(time.time() if now is None else now, self.since, self.last_tick or 0)
        return self.schedule.next_after(dt.datetime.fromtimestamp(start, dt.UTC))

    def to_data(self) -> dict[str, Any]:
        """The JSON dict stored under the schedule's name (``last_tick`` is stored apart)."""
        return {
            "task": self.task, "schedule": self.schedule.to_dict(), "args": list(self.args),
            "kwargs": dict(self.kwargs), "queue": self.queue, "priority": self.priority,
            "paused": self.paused, "catch_up": self.catch_up, "source": self.source,
            "since": self.since,
        }

    @classmethod
    def from_data(cls, name: str, data: Mapping[str, Any],
                  state: Mapping[str, Any] | None = None) -> ScheduleEntry:
        try:
            return cls(
                name=name, task=data["task"], schedule=schedule_from_dict(data["schedule"]),
                args=data.get("args", ()), kwargs=data.get("kwargs", {}),
                queue=data.get("queue"), priority=data.get("priority"),
                paused=bool(data.get("paused", False)), catch_up=bool(data.get("catch_up")),
                source=data.get("source", "store"), since=float(data.get("since", 0.0)),
                last_tick=(state or {}).get("last_tick"),
            )
        except KeyError as exc:
            raise InvalidTaskOptions(f"stored schedule {name!r} lacks {exc}") from exc
