"""The commands about tasks and backends: ``tasks`` and ``capabilities``."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

import attrs
from rich.table import Table

from taskbridge import _registry
from taskbridge._plugins import installed_engines
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
    return EXIT_OK


def _flags(capabilities: Any) -> dict[str, Any]:
    if attrs.has(type(capabilities)):
        return attrs.asdict(capabilities)
    return dict(vars(capabilities)) if capabilities is not None else {}


def cmd_capabilities(args: argparse.Namespace) -> int:
    """Show what every installed backend can do (capability flags, by mode where declared)."""
    matrix: dict[str, dict[str, Any]] = {}
    for engine, factory in sorted(installed_engines().items()):
        modes = getattr(factory, "capabilities_by_mode", None)
        entry: dict[str, Any] = {"capabilities": _flags(getattr(factory, "capabilities", None))}
        if modes:
            entry["by_mode"] = {mode: _flags(caps) for mode, caps in dict(modes).items()}
        matrix[engine] = entry

    def render() -> Table:
        columns: dict[str, dict[str, Any]] = {}
        for engine, entry in matrix.items():
            if entry["capabilities"] or not entry.get("by_mode"):
                columns[engine] = entry["capabilities"]
            for mode, flags in entry.get("by_mode", {}).items():
                columns[f"{engine} ({mode})"] = flags
        names = sorted({f for flags in columns.values() for f in flags if f != "reasons"})
        return table("backend capabilities", ["flag", *columns], [
            [name, *(_mark(flags.get(name)) for flags in columns.values())] for name in names
        ])

    emit(args, matrix, render)
    return EXIT_OK


def _mark(value: Any) -> str:
    return {True: "yes", False: "no", None: "-"}.get(value, str(value))
