"""The ``schedules`` commands: add, pause, resume, remove and list schedules in the store."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.table import Table

from taskbridge._errors import InvalidTaskOptions, ScheduleNotFound
from taskbridge._schedules.calls import registered_task
from taskbridge._schedules.values import At, Cron, Schedule, Solar, parse_every
from taskbridge.cli._output import EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, emit, error, table, when

if TYPE_CHECKING:
    from taskbridge._bridge import Bridge
    from taskbridge._schedules.entry import ScheduleEntry

Command = Callable[["Bridge", argparse.Namespace], int]


def _json_arg(text: str | None, kind: type, what: str) -> Any:
    if text is None:
        return kind()
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidTaskOptions(f"{what} is not JSON: {exc}") from exc
    if not isinstance(value, kind):
        raise InvalidTaskOptions(f"{what} must be a JSON {kind.__name__}, got {text}")
    return value


def _schedule_from_args(args: argparse.Namespace) -> Schedule:
    if args.cron:
        return Cron(args.cron, tz=args.tz)
    if args.every:
        return parse_every(args.every)
    if args.at:
        try:
            moment = dt.datetime.fromisoformat(args.at)
        except ValueError as exc:
            raise InvalidTaskOptions(f"--at {args.at!r} is not an ISO 8601 datetime") from exc
        return At(moment)
    if args.latitude is None or args.longitude is None:
        raise InvalidTaskOptions("--solar needs --lat and --lon")
    return Solar(args.solar, args.latitude, args.longitude)


def cmd_schedules_add(bridge: Bridge, args: argparse.Namespace) -> int:
    """Add (or replace) a schedule in the store; running schedulers pick it up.

    The task must be registered here (``--imports``), so that a misspelt name or arguments
    that do not fit its signature are refused now (exit 2), not at every tick."""
    try:
        entry = bridge.schedules.add(
            args.name, registered_task(args.name, args.task), _schedule_from_args(args),
            args=_json_arg(args.args, list, "--args"),
            kwargs=_json_arg(args.kwargs, dict, "--kwargs"),
            queue=args.queue, priority=args.priority, catch_up=args.catch_up, paused=args.paused,
        )
    except (InvalidTaskOptions, TypeError) as exc:  # a bad argument is a usage error
        error(exc)
        return EXIT_USAGE
    print(f"added schedule {entry.name!r}: {entry.task} {entry.schedule.describe()}")
    return EXIT_OK


def schedule_action(action: str) -> Command:
    def run(bridge: Bridge, args: argparse.Namespace) -> int:
        try:
            if action == "remove":
                if not bridge.schedules.remove(args.name):
                    raise ScheduleNotFound(f"no schedule named {args.name!r}")
            else:
                getattr(bridge.schedules, action)(args.name)
        except ScheduleNotFound as exc:
            error(exc)
            return EXIT_PROBLEM
        done = {"pause": "paused", "resume": "resumed", "remove": "removed"}[action]
        print(f"{done} schedule {args.name!r}")
        return EXIT_OK

    run.__doc__ = {"pause": "Pause a schedule: its ticks are skipped until resumed.",
                   "resume": "Resume a paused schedule from its next tick.",
                   "remove": "Remove a schedule from the store."}[action]
    return run


def cmd_schedules_list(bridge: Bridge, args: argparse.Namespace) -> int:
    """List the stored schedules with their next run."""
    now = time.time()
    rows = [schedule_data(e, now) for e in bridge.schedules.list()]
    emit(args, rows, lambda: schedules_table(rows))
    return EXIT_OK


def schedule_data(entry: ScheduleEntry, now: float) -> dict[str, Any]:
    upcoming = entry.next_run(now)
    return {
        "name": entry.name, "task": entry.task, "schedule": entry.schedule.to_dict(),
        "describe": entry.schedule.describe(), "args": list(entry.args), "kwargs": entry.kwargs,
        "queue": entry.queue, "priority": entry.priority, "paused": entry.paused,
        "catch_up": entry.catch_up, "source": entry.source, "last_tick": entry.last_tick,
        "next_run": upcoming.isoformat() if upcoming else None,
    }


def schedules_table(rows: list[dict[str, Any]]) -> Table:
    return table("schedules", ["name", "task", "schedule", "state", "next run", "last tick"], [
        [s["name"], s["task"], s["describe"], "paused" if s["paused"] else "active",
         s["next_run"], when(s["last_tick"])] for s in rows
    ])
