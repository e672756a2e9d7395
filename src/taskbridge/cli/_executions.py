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


def _progress_lines(record: Record) -> str:
    return "\n".join(f"{when(p.at)}  {p.percent:g}%  {p.message}" for p in record.progress_log)


def _attempt_lines(record: Record) -> str:
    lines = []
    for a in record.attempt_history:
        cost = []
        if a.cpu_time is not None:
            cost.append(f"{a.cpu_time:.3f} s CPU")
        if a.peak_memory is not None:
            cost.append(f"{a.peak_memory / 2**20:.1f} MiB peak")
        line = f"#{a.attempt} {a.outcome or 'RUNNING'} on {a.worker or '?'}"
        line += f", {when(a.started_at) or '?'} to {when(a.finished_at) or '…'}"
        line += f" ({', '.join(cost)})" if cost else ""
        if a.error:
            line += f": {a.error.type}: {a.error.message}"
        lines.append(line)
    return "\n".join(lines)


def cmd_inspect(bridge: Bridge, args: argparse.Namespace) -> int:
    """Show everything stored about one execution, its progress log and its attempts;
    exits 1 for an unknown id."""
    record = bridge.store.get(args.id)
    data = record_data(record)
    readable = {"progress_log": _progress_lines(record),
                "attempt_history": _attempt_lines(record)}

    def render() -> Table:
        rows = []
        for key, value in data.items():
            if key in readable:
                value = readable[key]
            if key.endswith("_at") and isinstance(value, int | float):
                value = when(value)
            if key == "error" and value:
                value = f"{value['type']}: {value['message']}\n{value.get('traceback', '')}"
            rows.append([key, value if isinstance(value, str) else json.dumps(value)])
        return table(f"execution {record.id}", ["field", "value"], rows)

    emit(args, data, render)
    return EXIT_OK


def cmd_failed(bridge: Bridge, args: argparse.Namespace) -> int:
    """List the dead-letter list (FAILED, neither retried nor discarded), of one task or queue
    with --task/--queue; retry one or all of them, or discard one (its record stays readable
    until purged)."""
    if args.retry:
        new = bridge.retry(args.retry)
        emit(args, {"retried": args.retry, "as": new.id},
             lambda: f"retried {args.retry} as {new.id}")
        return EXIT_OK
    if args.discard:
        bridge.discard(args.discard)
        emit(args, {"discarded": args.discard}, lambda: f"discarded {args.discard}")
        return EXIT_OK
    if args.retry_all:
        return _retry_all(bridge, args)
    flt = _dead_letters(args)
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


def _dead_letters(args: argparse.Namespace) -> RecordFilter:
    return RecordFilter(status=Status.FAILED, include_retried=False, task_name=args.task,
                        queue=args.queue)


def _retry_all(bridge: Bridge, args: argparse.Namespace) -> int:
    ids = [r.id for r in bridge.store.list(_dead_letters(args), limit=args.limit)]
    retried: dict[str, str] = {}
    errors: dict[str, str] = {}
    with Progress(console=console(stderr=True), transient=True,
                  disable=getattr(args, "json", False)) as progress:
        job = progress.add_task("retrying failed tasks", total=len(ids))
        for id in ids:
            try:
                # A failed chain and its failing step are both listed; retrying one retries
                # the other with it.
                done = bridge.store.get(id).retried_as
                retried[id] = done if done is not None else bridge.retry(id).id
            except TaskBridgeError as exc:
                errors[id] = str(exc)
            progress.advance(job)
    emit(args, {"retried": retried, "errors": errors},
         lambda: f"retried {len(retried)} failed task(s)"
         + (f"; {len(errors)} could not be retried: {errors}" if errors else ""))
    return EXIT_PROBLEM if errors else EXIT_OK


def cmd_purge(bridge: Bridge, args: argparse.Namespace) -> int:
    """Remove finished executions now: those past result_ttl (FAILED ones past failed_ttl),
    or every one finished --older-than SECONDS ago; says how many. Workers also purge in the
    background at least once a minute."""
    purged = bridge.purge(older_than=args.older_than)
    what = (f"finished more than {args.older_than:g} s ago" if args.older_than is not None
            else "past their ttl")
    emit(args, {"purged": purged}, lambda: f"purged {purged} finished execution(s) {what}")
    return EXIT_OK
