"""``taskbridge status``: is everything answering, and is anything quietly not happening?"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.text import Text

from taskbridge._config import sqlite_files
from taskbridge._schedules.health import scheduler_health
from taskbridge._status import Status
from taskbridge._unavailable import where
from taskbridge.cli._output import EXIT_OK, EXIT_PROBLEM, emit, table, when
from taskbridge.cli._workers import known_queues

if TYPE_CHECKING:
    from taskbridge._bridge import Bridge


def cmd_status(bridge: Bridge, args: argparse.Namespace) -> int:
    """Show whether the backend answers, queue depths, live workers, the failed count and the
    schedulers' last tick, with a warning for work nothing will run.

    Exits 1 when the backend or its store cannot be reached (failed tasks and warnings are
    reported, not an error: use ``taskbridge failed`` to act on them).
    """
    report: dict[str, Any] = {
        "url": bridge.url.redacted(), "engine": bridge.url.engine, "pool": bridge.pool,
        "store": where(bridge), "files": [str(p) for p in sqlite_files(bridge.settings.url)],
    }
    try:
        bridge.store.ping()
        workers = bridge.store.workers()
        consumed = [q for w in workers for q in w.get("queues") or ()]
        queues = sorted({*known_queues(bridge), *consumed})
        report["queues"] = {q: bridge.backend.queue_depth(q) for q in queues}
        report["workers"] = workers
        report["failed"] = bridge.count(status=Status.FAILED, include_retried=False)
        report["schedulers"] = scheduler_health(bridge)
        report["warnings"] = warnings(bridge, report)
        report["reachable"], report["error"] = True, None
    except Exception as exc:  # any driver error means "unreachable" here
        report.update(reachable=False,
                      error={"type": type(exc).__name__, "message": str(exc)})

    emit(args, report, lambda: render(report))
    return EXIT_OK if report["reachable"] else EXIT_PROBLEM


def warnings(bridge: Bridge, report: dict[str, Any]) -> list[str]:
    """Work that nothing will run: no worker, a queue nobody consumes, schedules and no
    scheduler."""
    found = []
    workers = report["workers"]
    if not workers and not bridge.capabilities.in_process:
        found.append("no worker is running: nothing will run until one starts "
                     "(taskbridge worker)")
    consumed = {q for w in workers for q in w.get("queues") or ()}
    for queue, depth in report["queues"].items():
        if depth and queue not in consumed and workers:
            found.append(f"queue {queue!r} has {depth} waiting task(s) and no worker consumes "
                         f"it: start one with 'taskbridge worker -q {queue}'")
    active = [e for e in bridge.schedules.list() if not e.paused]
    if active and not report["schedulers"]["running"]:
        found.append(f"{len(active)} active schedule(s) but no scheduler is running: their "
                     "ticks are not sent (taskbridge scheduler)")
    return found


def _ago(timestamp: float | None) -> str:
    if timestamp is None:
        return "never"
    return f"{when(timestamp)} ({max(0.0, time.time() - timestamp):.0f}s ago)"


def render(report: dict[str, Any]) -> Any:
    if not report["reachable"]:
        return table("taskbridge status", ["backend", "store", "reachable", "error"],
                     [[report["url"], report["store"], "no", report["error"]["message"]]])
    health = report["schedulers"]
    last = health["last_tick"]
    rows = [
        ["backend", report["url"]], ["store", report["store"]], ["reachable", "yes"],
        ["failed tasks", report["failed"]], ["workers", len(report["workers"])],
        *[[f"queue {q}", depth] for q, depth in report["queues"].items()],
        *[[f"worker {w.get('id')}", f"pool {w.get('pool')}, queues "
           + ", ".join(w.get("queues") or ())] for w in report["workers"]],
        ["schedulers", len(health["running"])],
        ["last tick", "none sent" if last is None else
         f"{last['schedule']} {when(last['tick'])}, sent {_ago(last['sent_at'])} "
         f"by {last['by']}"],
    ]
    out = table("taskbridge status", ["what", "value"], rows)
    notes = [Text(f"warning: {w}", style="yellow") for w in report["warnings"]]
    return Group(out, *notes) if notes else out
