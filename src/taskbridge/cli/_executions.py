"""The commands about executions: ``inspect`` and ``failed``."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from rich.progress import Progress
from rich.table import Table

from taskbridge._errors import TaskBridgeError
from taskbridge._record import Record
from taskbridge._status import Status
from taskbridge._stores.base import RecordFilter
from taskbridge.cli._output import EXIT_OK, EXIT_PROBLEM, console, emit, table, when

if TYPE_CHECKING:
    from taskbridge._bridge import Bridge


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
    # The store lists by enqueue time; the table's order is its "finished" column's.
    records = sorted(bridge.store.list(flt, limit=args.limit),
                     key=lambda r: r.finished_at or 0.0, reverse=True)
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
