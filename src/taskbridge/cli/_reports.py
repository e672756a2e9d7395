"""The command line's read commands (status, inspect, failed, tasks, capabilities) and their
output: rich tables for people, ``--json`` for scripts."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import attrs
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from taskbridge import _registry
from taskbridge._errors import TaskBridgeError
from taskbridge._plugins import installed_engines, load_factory
from taskbridge._record import Record
from taskbridge._status import Status
from taskbridge._stores.base import RecordFilter

if TYPE_CHECKING:
    from taskbridge._bridge import Bridge
    from taskbridge._schedules.entries import ScheduleEntry

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2


def console(stderr: bool = False) -> Console:
    # Resolved per call so output goes to whatever sys.stdout is now (pytest's capsys too);
    # wide when not a terminal, so ids and names are never cut in logs and pipes.
    stream = sys.stderr if stderr else sys.stdout
    return Console(file=stream, highlight=False, width=None if stream.isatty() else 200)


def emit(args: argparse.Namespace, data: Any, render: Callable[[], Any]) -> None:
    """Print ``data`` as JSON with ``--json``, else what ``render`` builds, for people."""
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2, sort_keys=True, default=str))
    else:
        console().print(render())


def table(title: str, columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> Table:
    out = Table(title=title, title_justify="left")
    for column in columns:
        out.add_column(column, overflow="fold")
    for row in rows:
        out.add_row(*("" if cell is None else str(cell) for cell in row))
    return out


def when(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="seconds")


# -- status ----------------------------------------------------------------------------------


def _queues(bridge: Bridge, workers: list[dict[str, Any]]) -> list[str]:
    names = {bridge.settings.default_queue, *bridge.settings.routes.values()}
    names.update(t.queue for t in _registry.all_tasks().values() if t.queue)
    for worker in workers:
        names.update(worker.get("queues") or ())
    return sorted(names)


def cmd_status(bridge: Bridge, args: argparse.Namespace) -> int:
    """Show whether the backend answers, queue depths, live workers and the failed count.

    Exits 1 when the backend or its store cannot be reached (failed tasks are reported, not
    an error: use ``taskbridge failed`` to act on them).
    """
    report: dict[str, Any] = {"url": bridge.url.redacted(), "engine": bridge.url.engine}
    try:
        bridge.store.ping()
        workers = bridge.store.workers()
        report["queues"] = {q: bridge.backend.queue_depth(q) for q in _queues(bridge, workers)}
        report["workers"] = workers
        report["failed"] = bridge.count(status=Status.FAILED, include_retried=False)
        report["reachable"], report["error"] = True, None
    except Exception as exc:  # any driver error means "unreachable" here
        report.update(reachable=False, error=f"{type(exc).__name__}: {exc}")

    def render() -> Table:
        if not report["reachable"]:
            return table("taskbridge status", ["backend", "reachable", "error"],
                         [[report["url"], "no", report["error"]]])
        out = table("taskbridge status", ["what", "value"], [
            ["backend", report["url"]], ["reachable", "yes"], ["failed tasks", report["failed"]],
            ["workers", len(report["workers"])],
            *[[f"queue {q}", depth] for q, depth in report["queues"].items()],
            *[[f"worker {w.get('id')}", ", ".join(w.get("queues") or ())]
              for w in report["workers"]],
        ])
        return out

    emit(args, report, render)
    return EXIT_OK if report["reachable"] else EXIT_PROBLEM


# -- inspect / failed ---------------------------------------------------------------------------


def record_data(record: Record) -> dict[str, Any]:
    data = record.to_dict()
    data.pop("envelope", None)
    return data


def cmd_inspect(bridge: Bridge, args: argparse.Namespace) -> int:
    """Show everything stored about one execution; exits 1 for an unknown id."""
    record = bridge.store.get(args.id)
    data = record_data(record)

    def render() -> Table:
        rows = []
        for key, value in data.items():
            if key.endswith("_at") and isinstance(value, int | float):
                value = when(value)
            if key == "error" and value:
                value = f"{value['type']}: {value['message']}\n{value.get('traceback', '')}"
            rows.append([key, value if isinstance(value, str) else json.dumps(value)])
        return table(f"execution {record.id}", ["field", "value"], rows)

    emit(args, data, render)
    return EXIT_OK


def cmd_failed(bridge: Bridge, args: argparse.Namespace) -> int:
    """List the dead-letter list (FAILED, not yet retried), or retry one or all of them."""
    if args.retry:
        new = bridge.retry(args.retry)
        emit(args, {"retried": args.retry, "as": new.id},
             lambda: f"retried {args.retry} as {new.id}")
        return EXIT_OK
    if args.retry_all:
        return _retry_all(bridge, args)
    flt = RecordFilter(status=Status.FAILED, include_retried=False)
    records = bridge.store.list(flt, limit=args.limit)
    emit(args, [record_data(r) for r in records], lambda: table(
        f"failed tasks ({bridge.store.count(flt)})",
        ["id", "task", "queue", "finished", "attempts", "error"],
        [[r.id, r.task_name, r.queue, when(r.finished_at), r.attempts,
          f"{r.error.type}: {r.error.message}" if r.error else ""] for r in records],
    ))
    return EXIT_OK


def _retry_all(bridge: Bridge, args: argparse.Namespace) -> int:
    flt = RecordFilter(status=Status.FAILED, include_retried=False)
    ids = [r.id for r in bridge.store.list(flt, limit=args.limit)]
    retried: dict[str, str] = {}
    errors: dict[str, str] = {}
    with Progress(console=console(stderr=True), transient=True,
                  disable=getattr(args, "json", False)) as progress:
        job = progress.add_task("retrying failed tasks", total=len(ids))
        for id in ids:
            try:
                retried[id] = bridge.retry(id).id
            except TaskBridgeError as exc:
                errors[id] = str(exc)
            progress.advance(job)
    emit(args, {"retried": retried, "errors": errors},
         lambda: f"retried {len(retried)} failed task(s)"
         + (f"; {len(errors)} could not be retried: {errors}" if errors else ""))
    return EXIT_PROBLEM if errors else EXIT_OK


# -- tasks / capabilities -----------------------------------------------------------------------


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


def cmd_tasks(bridge: Bridge, args: argparse.Namespace) -> int:
    """List the registered tasks and every schedule with its next run."""
    from taskbridge._schedules.entries import code_schedules

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
