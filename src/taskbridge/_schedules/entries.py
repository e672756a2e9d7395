"""Periodic tasks: ``@periodic`` for schedules declared in code, and ``bridge.schedules`` for
schedules managed at run time in the bridge's store.

A stored schedule is one JSON dict under its name (see :meth:`ScheduleEntry.to_data`). The
schedulers' progress, the last tick enqueued, lives in a separate store entry
(``STATE_PREFIX + name``) that only schedulers write, so an operator's ``pause`` and a
scheduler's bookkeeping never overwrite each other.
"""

from __future__ import annotations

import builtins
import datetime as dt
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from taskbridge import _json, _registry
from taskbridge._config import check_queue
from taskbridge._errors import InvalidTaskOptions
from taskbridge._schedules.values import Schedule, schedule_from_dict
from taskbridge._task import Task, check_priority

if TYPE_CHECKING:
    from taskbridge._bridge import Bridge

#: Store entries under this prefix hold scheduler state, not schedules.
STATE_PREFIX = "~tick:"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,199}$")


def check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidTaskOptions(
            f"schedule name {name!r} is invalid; use 1-200 letters, digits, '_', '.', ':', '@' "
            "or '-', starting with a letter or digit"
        )
    return name


def _check_schedule(value: object) -> Schedule:
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

    The task receives the tick's Unix timestamp as its first argument, then ``args`` and
    ``kwargs``. ``catch_up`` runs every tick missed while no scheduler ran (up to
    ``MAX_CATCH_UP``) instead of only the latest one.
    """

    name: str = attrs.field(validator=lambda i, a, v: check_name(v))
    task: str
    schedule: Schedule = attrs.field(validator=lambda i, a, v: _check_schedule(v))
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


# -- schedules declared in code ---------------------------------------------------------------

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
    bridge's store when a scheduler starts; pausing it there survives restarts.
    """
    _check_schedule(schedule)

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


# -- schedules in the store -------------------------------------------------------------------


class ScheduleManager:
    """``bridge.schedules``: add, change, pause, resume and remove schedules in the store.

    Running schedulers re-read the store on every loop, so changes apply within a second.
    """

    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge
        self.store = bridge.store

    def add(
        self,
        name: str,
        task: Task[Any, Any] | str,
        schedule: Schedule,
        *,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        queue: str | None = None,
        priority: int | None = None,
        catch_up: bool = False,
        paused: bool = False,
    ) -> ScheduleEntry:
        """Create or replace schedule ``name``; its first tick is the first one after now."""
        task_name = task.name if isinstance(task, Task) else task
        if not isinstance(task_name, str) or not task_name:
            raise InvalidTaskOptions(f"schedule {name!r}: task must be a Task or a task name")
        now = time.time()
        entry = ScheduleEntry(
            name=check_name(name), task=task_name, schedule=_check_schedule(schedule),
            args=args, kwargs=dict(kwargs or {}), queue=queue, priority=priority,
            catch_up=catch_up, paused=paused, since=now,
        )
        if entry.schedule.next_after(dt.datetime.fromtimestamp(now, dt.UTC)) is None:
            raise InvalidTaskOptions(
                f"schedule {name!r} ({entry.schedule.describe()}) has no tick after now"
            )
        self.store.put_schedule(name, entry.to_data())
        self.store.delete_schedule(STATE_PREFIX + name)
        return entry

    def get(self, name: str) -> ScheduleEntry | None:
        """The stored schedule ``name``, or ``None``."""
        data = self.store.get_schedule(check_name(name))
        if data is None:
            return None
        return ScheduleEntry.from_data(name, data, self.store.get_schedule(STATE_PREFIX + name))

    def list(self) -> builtins.list[ScheduleEntry]:
        """Every stored schedule, by name."""
        stored = self.store.list_schedules()
        return [
            ScheduleEntry.from_data(name, data, stored.get(STATE_PREFIX + name))
            for name, data in sorted(stored.items())
            if not name.startswith(STATE_PREFIX)
        ]

    def _require(self, name: str) -> ScheduleEntry:
        entry = self.get(name)
        if entry is None:
            known = ", ".join(e.name for e in self.list()) or "none"
            raise InvalidTaskOptions(f"no schedule named {name!r}; stored schedules: {known}")
        return entry

    def update(self, name: str, **changes: Any) -> ScheduleEntry:
        """Change some of a schedule's fields (task, schedule, args, kwargs, queue, priority,
        catch_up, paused)."""
        allowed = {"task", "schedule", "args", "kwargs", "queue", "priority", "catch_up",
                   "paused"}
        unknown = set(changes) - allowed
        if unknown:
            raise InvalidTaskOptions(
                f"cannot update {', '.join(sorted(unknown))} of schedule {name!r}; "
                f"changeable: {', '.join(sorted(allowed))}"
            )
        if isinstance(changes.get("task"), Task):
            changes["task"] = changes["task"].name
        entry = self._require(name)
        if entry.paused and changes.get("paused") is False:
            # Ticks missed while paused are skipped, not caught up.
            changes["since"] = time.time()
        updated = attrs.evolve(entry, **changes)
        self.store.put_schedule(name, updated.to_data())
        return updated

    def pause(self, name: str) -> ScheduleEntry:
        """Stop enqueueing ticks of ``name`` until :meth:`resume`."""
        return self.update(name, paused=True)

    def resume(self, name: str) -> ScheduleEntry:
        """Enqueue ``name``'s ticks again, from the next one after now."""
        return self.update(name, paused=False)

    def remove(self, name: str) -> bool:
        """Delete schedule ``name``; False if there was none. A ``@periodic`` schedule comes
        back when a scheduler restarts: pause it, or remove the decorator."""
        self.store.delete_schedule(STATE_PREFIX + check_name(name))
        return self.store.delete_schedule(name)

    def sync_code_schedules(self, entries: Mapping[str, ScheduleEntry] | None = None) -> None:
        """Copy ``@periodic`` declarations into the store, keeping each one's paused flag and
        tick history (what schedulers do at startup)."""
        now = time.time()
        for name, entry in (code_schedules() if entries is None else entries).items():
            stored = self.store.get_schedule(name)
            paused = bool(stored.get("paused")) if stored else False
            since = float(stored.get("since", now)) if stored else now
            merged = attrs.evolve(entry, paused=paused, since=since)
            if stored != merged.to_data():
                self.store.put_schedule(name, merged.to_data())

    def last_tick(self, name: str) -> int | None:
        """The last tick a scheduler enqueued for ``name``."""
        state = self.store.get_schedule(STATE_PREFIX + name)
        return None if state is None else state.get("last_tick")

    def record_tick(self, name: str, tick: int) -> None:
        """Move ``name``'s last enqueued tick forward to ``tick`` (never backwards)."""
        last = self.last_tick(name)
        if last is None or tick > last:
            self.store.put_schedule(STATE_PREFIX + name, {"last_tick": tick})

    def task_for(self, entry: ScheduleEntry) -> Task[Any, Any]:
        return _registry.lookup(entry.task)
