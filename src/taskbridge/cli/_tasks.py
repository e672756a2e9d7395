"""The commands about tasks and backends: ``tasks`` and ``capabilities``."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING, Any

import attrs
from rich.table import Table

from taskbridge import _registry
from taskbridge._plugins import installed_engines, load_factory
from taskbridge._schedules.registry import code_schedules
from taskbridge.cli._output import EXIT_OK, emit, table
from taskbridge.cli._schedules import schedule_data, schedules_table

if TYPE_CHECKING:
    from taskbridge._bridge import Bridge


def cmd_tasks(bridge: Bridge, args: argparse.Namespace) -> int:
    """List the registered tasks and every schedule with its next run."""
    now = time.time()
    stored = {e.name: e for e in bridge.schedules.list()}
    entries = {**code_schedules(), **stored}
    tasks = [
        {"name": t.name, "queue": t.queue or bridge.route(t.name), "priority": t.priority,
         "max_attempts": t.retry.max_attempts, "timeout": t.timeout, "async": t.is_async}
        for t in sorted(_registry.all_tasks().values(), key=lambda t: t.name)
    ]
    schedules = [schedule_data(entries[name], now) for name in sorted(entries)]

    def render() -> Any:
        from rich.console import Group

        return Group(
            table("tasks", ["name", "queue", "priority", "attempts", "timeout"],
                  [[t["name"], t["queue"], t["priority"], t["max_attempts"], t["timeout"]]
                   for t in tasks]),
            schedules_table(schedules),
        )

    emit(args, {"tasks": tasks, "schedules": schedules}, render)
    if not tasks:
        print("taskbridge: note: no task is registered in this process: name the modules that "
              "define your tasks with --imports myapp.tasks or TASKBRIDGE_IMPORTS=myapp.tasks",
              file=sys.stderr)
    return EXIT_OK


def cmd_capabilities(args: argparse.Namespace) -> int:
    """Show what every installed backend can do, for each of its worker pools (the first is the
    default; ``?pool=`` in the URL or ``--pool`` on the worker chooses another)."""
    matrix: dict[str, dict[str, Any]] = {}
    for engine, found in sorted(installed_engines().items()):
        pools = load_factory(engine, found).pools
        flags = {pool: attrs.asdict(caps) for pool, caps in pools.items()}
        matrix[engine] = {"capabilities": next(iter(flags.values())), "pools": flags}

    def render() -> Table:
        columns = {
            f"{engine} ({pool}{', default' if n == 0 else ''})": flags
            for engine, entry in matrix.items()
            for n, (pool, flags) in enumerate(entry["pools"].items())
        }
        names = sorted({f for flags in columns.values() for f in flags if f != "reasons"})
        return table("backend capabilities", ["flag", *columns], [
            [name, *(_mark(flags.get(name)) for flags in columns.values())] for name in names
        ])

    emit(args, matrix, render)
    return EXIT_OK


def _mark(value: Any) -> str:
    return {True: "yes", False: "no", None: "-"}.get(value, str(value))
