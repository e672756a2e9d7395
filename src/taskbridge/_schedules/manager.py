"""Schedules in the store: ``bridge.schedules`` adds, changes, pauses and removes them at run
time.

A stored schedule is one JSON dict under its name (see :meth:`ScheduleEntry.to_data`). The
schedulers' progress, the last tick enqueued, lives in a separate store entry
(``STATE_PREFIX + name``) that only schedulers write, so an operator's ``pause`` and a
scheduler's bookkeeping never overwrite each other.
"""

from __future__ import annotations

import builtins
import datetime as dt
import logging
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from taskbridge import _registry
from taskbridge._errors import InvalidTaskOptions, ScheduleNotFound, TaskBridgeError
from taskbridge._schedules.calls import check_call
from taskbridge._schedules.entry import ScheduleEntry, check_name, check_schedule
from taskbridge._schedules.registry import code_schedules
from taskbridge._schedules.values import Schedule
from taskbridge._task import Task
from taskbridge._unavailable import translating

if TYPE_CHECKING:
    from taskbridge._bridge import Bridge

logger = logging.getLogger("taskbridge.schedules")

#: Store entries under this prefix hold scheduler state, not schedules.
STATE_PREFIX = "~tick:"
#: Names starting with this are schedulers' bookkeeping (ticks, presence): schedule names
#: start with a letter or digit.
BOOKKEEPING = "~"


class ScheduleManager:
    """``bridge.schedules``: add, change, pause, resume and remove schedules in the store.

    Running schedulers re-read the store on every loop, so changes apply within a second.
    """

    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge
        self.store = bridge.store
        self._warned: set[tuple[str, str]] = set()

    @translating("store a schedule")
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
            name=check_name(name), task=task_name, schedule=check_schedule(schedule),
            args=args, kwargs=dict(kwargs or {}), queue=queue, priority=priority,
            catch_up=catch_up, paused=paused, since=now,
        )
        _check_calls(entry, task if isinstance(task, Task) else None)
        if entry.schedule.next_after(dt.datetime.fromtimestamp(now, dt.UTC)) is None:
            raise InvalidTaskOptions(
                f"schedule {name!r} ({entry.schedule.describe()}) has no tick after now"
            )
        self.store.put_schedule(name, entry.to_data())
        self.store.delete_schedule(STATE_PREFIX + name)
        return entry

    @translating("read a schedule")
    def get(self, name: str) -> ScheduleEntry | None:
        """The stored schedule ``name``, or ``None``."""
        data = self.store.get_schedule(check_name(name))
        if data is None:
            return None
        return ScheduleEntry.from_data(name, data, self.store.get_schedule(STATE_PREFIX + name))

    @translating("list schedules")
    def list(self) -> builtins.list[ScheduleEntry]:
        """Every stored schedule, by name. One that cannot be read (written by hand, or by
        another version) is skipped with a warning, so it never stops the others."""
        stored = self.store.list_schedules()
        entries = []
        for name, data in sorted(stored.items()):
            if name.startswith(BOOKKEEPING):
                continue
            try:
                entries.append(ScheduleEntry.from_data(name, data, stored.get(STATE_PREFIX + name)))
            except TaskBridgeError as exc:
                self._warn_once(name, f"skipping unreadable schedule {name!r}: {exc}")
        return entries

    def _warn_once(self, name: str, message: str) -> None:
        # Schedulers list the schedules every second; one warning per problem is enough.
        if (name, message) not in self._warned:
            self._warned.add((name, message))
            logger.warning("%s", message)

    def _require(self, name: str) -> ScheduleEntry:
        entry = self.get(name)
        if entry is None:
            known = ", ".join(e.name for e in self.list()) or "none"
            raise ScheduleNotFound(f"no schedule named {name!r}; stored schedules: {known}")
        return entry

    @translating("change a schedule")
    def update(self, name: str, **changes: Any) -> ScheduleEntry:
        """Change some of a schedule's fields (task, schedule, args, kwargs, queue, priority,
        catch_up, paused); :class:`ScheduleNotFound` if none is stored under ``name``."""
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
        if {"task", "args", "kwargs"} & set(changes):
            _check_calls(updated)
        self.store.put_schedule(name, updated.to_data())
        return updated

    def pause(self, name: str) -> ScheduleEntry:
        """Stop enqueueing ticks of ``name`` until :meth:`resume`."""
        return self.update(name, paused=True)

    def resume(self, name: str) -> ScheduleEntry:
        """Enqueue ``name``'s ticks again, from the next one after now."""
        return self.update(name, paused=False)

    @translating("remove a schedule")
    def remove(self, name: str) -> bool:
        """Delete schedule ``name``; False if there was none. A ``@periodic`` schedule comes
        back when a scheduler restarts: pause it, or remove the decorator."""
        self.store.delete_schedule(STATE_PREFIX + check_name(name))
        return self.store.delete_schedule(name)

    @translating("store the @periodic schedules")
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

    @translating("read a schedule's last tick")
    def last_tick(self, name: str) -> int | None:
        """The last tick a scheduler enqueued for ``name``."""
        state = self.store.get_schedule(STATE_PREFIX + name)
        return None if state is None else state.get("last_tick")

    @translating("record a schedule's tick")
    def record_tick(self, name: str, tick: int) -> None:
        """Move ``name``'s last enqueued tick forward to ``tick`` (never backwards)."""
        last = self.last_tick(name)
        if last is None or tick > last:
            self.store.put_schedule(STATE_PREFIX + name, {"last_tick": tick})

    def task_for(self, entry: ScheduleEntry) -> Task[Any, Any]:
        return _registry.lookup(entry.task)


def _check_calls(entry: ScheduleEntry, task: Task[Any, Any] | None = None) -> None:
    """Refuse arguments that do not fit the task with its tick, before anything is stored.
    A task this process does not know (its module is imported by workers only) cannot be
    checked here; the scheduler warns about it if it is still unknown at tick time."""
    task = task or _registry.all_tasks().get(entry.task)
    if task is not None:
        check_call(entry.name, task, entry.args, entry.kwargs)
