"""The ``taskbridge`` command line: run workers and schedulers, look at and act on the backend.

Exit codes: 0 ok; 1 a problem found (backend unreachable, unknown id, a retry refused);
2 usage or configuration (bad arguments, a ``--url`` that does not parse, an unknown engine).
Read commands take ``--json`` for scripts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from taskbridge import _registry
from taskbridge._backend import WorkerOptions
from taskbridge._bridge import Bridge
from taskbridge._config import BackendURL
from taskbridge._errors import ConfigurationError, InvalidTaskOptions, TaskBridgeError
from taskbridge._schedules.values import At, Cron, Schedule, Solar, parse_every
from taskbridge.cli import _reports as reports

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = reports.EXIT_OK, reports.EXIT_PROBLEM, reports.EXIT_USAGE

Command = Callable[[Bridge, argparse.Namespace], int]


def _bridge(args: argparse.Namespace) -> Bridge:
    return Bridge(args.url, imports=args.imports)


def _on_stop_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the engine's own worker until SIGTERM/SIGINT."""
    bridge = _bridge(args)
    options = WorkerOptions(
        queues=tuple(args.queues or [bridge.settings.default_queue]),
        concurrency=args.concurrency,
        pool=args.pool,
    )
    _on_stop_signals(options.stop)
    try:
        bridge.backend.run_worker(bridge, options)
    finally:
        bridge.close()
    return EXIT_OK


def cmd_scheduler(bridge: Bridge, args: argparse.Namespace) -> int:
    """Enqueue every schedule's ticks, each exactly once, until SIGTERM/SIGINT.

    Run several for availability: they share the work through the store.
    """
    from taskbridge._schedules.scheduler import Scheduler

    stop = threading.Event()
    _on_stop_signals(stop)
    Scheduler(bridge, max_sleep=args.max_sleep).run(stop)
    return EXIT_OK


# -- schedules --------------------------------------------------------------------------------


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
    """Add (or replace) a schedule in the store; running schedulers pick it up."""
    try:
        entry = bridge.schedules.add(
            args.name, args.task, _schedule_from_args(args),
            args=_json_arg(args.args, list, "--args"),
            kwargs=_json_arg(args.kwargs, dict, "--kwargs"),
            queue=args.queue, priority=args.priority, catch_up=args.catch_up, paused=args.paused,
        )
    except (InvalidTaskOptions, TypeError) as exc:  # a bad argument is a usage error
        print(f"taskbridge: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.task not in _registry.all_tasks():
        print(f"taskbridge: note: task {args.task!r} is not registered in this process; "
              "make sure the scheduler and workers import it (--imports)", file=sys.stderr)
    print(f"added schedule {entry.name!r}: {entry.task} {entry.schedule.describe()}")
    return EXIT_OK


def _schedule_action(action: str) -> Command:
    def run(bridge: Bridge, args: argparse.Namespace) -> int:
        if action == "remove":
            if not bridge.schedules.remove(args.name):
                print(f"taskbridge: error: no schedule named {args.name!r}", file=sys.stderr)
                return EXIT_PROBLEM
        else:
            getattr(bridge.schedules, action)(args.name)
        done = {"pause": "paused", "resume": "resumed", "remove": "removed"}[action]
        print(f"{done} schedule {args.name!r}")
        return EXIT_OK

    run.__doc__ = {"pause": "Pause a schedule: its ticks are skipped until resumed.",
                   "resume": "Resume a paused schedule from its next tick.",
                   "remove": "Remove a schedule from the store."}[action]
    return run


def cmd_schedules_list(bridge: Bridge, args: argparse.Namespace) -> int:
    """List the stored schedules with their next run."""
    import time

    now = time.time()
    rows = [reports.schedule_data(e, now) for e in bridge.schedules.list()]
    reports.emit(args, rows, lambda: reports.schedules_table(rows))
    return EXIT_OK


# -- parser -----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="taskbridge", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", help="backend URL (default: $TASKBRIDGE_URL or huey+sqlite)")
    common.add_argument("--imports", action="append", default=None,
                        help="module defining tasks (repeatable or comma-separated)")
    common.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print JSON for scripts")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, func: Any, *parents: argparse.ArgumentParser,
                parent: Any = sub) -> argparse.ArgumentParser:
        doc = func.__doc__ or ""
        p: argparse.ArgumentParser = parent.add_parser(
            name, parents=[common, *parents], help=doc.split("\n")[0], description=doc)
        p.set_defaults(func=func)
        return p

    worker = command("worker", cmd_worker)
    worker.set_defaults(needs_bridge=False)
    worker.add_argument("-c", "--concurrency", type=int, default=1)
    worker.add_argument("-q", "--queue", dest="queues", action="append",
                        help="queue to consume (repeatable; default: the default queue)")
    worker.add_argument("--pool", help="engine-specific pool/worker class")

    scheduler = command("scheduler", cmd_scheduler)
    scheduler.add_argument("--max-sleep", type=float, default=1.0, metavar="SECONDS",
                           help="longest sleep between store reads (default 1)")

    command("status", reports.cmd_status, as_json)
    command("inspect", reports.cmd_inspect, as_json).add_argument("id", help="execution id")
    failed = command("failed", reports.cmd_failed, as_json)
    retry = failed.add_mutually_exclusive_group()
    retry.add_argument("--retry", metavar="ID", help="re-enqueue one failed execution")
    retry.add_argument("--retry-all", action="store_true", help="re-enqueue every failed one")
    failed.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    command("tasks", reports.cmd_tasks, as_json)
    command("capabilities", reports.cmd_capabilities, as_json).set_defaults(needs_bridge=False)
    from taskbridge._dashboard import command as dashboard

    dashboard.add_arguments(command("dashboard", dashboard.cmd_dashboard))

    schedules = sub.add_parser("schedules", help="manage schedules in the store",
                               description="Add, pause, resume, remove and list schedules.")
    actions = schedules.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = command("add", cmd_schedules_add, parent=actions)
    add.add_argument("name")
    add.add_argument("task", help="registered task name")
    when = add.add_mutually_exclusive_group(required=True)
    when.add_argument("--cron", metavar="EXPR", help="cron expression, e.g. '*/5 * * * *'")
    when.add_argument("--every", metavar="INTERVAL", help="interval: 30s, 5m, 2h, 1d")
    when.add_argument("--at", metavar="DATETIME", help="one time, ISO 8601 with offset")
    when.add_argument("--solar", choices=["dawn", "sunrise", "noon", "sunset", "dusk"])
    add.add_argument("--tz", default="UTC", help="time zone of --cron (default UTC)")
    add.add_argument("--lat", dest="latitude", type=float, help="latitude for --solar")
    add.add_argument("--lon", dest="longitude", type=float, help="longitude for --solar")
    add.add_argument("--args", metavar="JSON", help="extra positional arguments, a JSON list")
    add.add_argument("--kwargs", metavar="JSON", help="keyword arguments, a JSON object")
    add.add_argument("--queue")
    add.add_argument("--priority", type=int)
    add.add_argument("--catch-up", action="store_true", help="run missed ticks after downtime")
    add.add_argument("--paused", action="store_true", help="add it paused")
    for action in ("pause", "resume", "remove"):
        command(action, _schedule_action(action), parent=actions).add_argument("name")
    command("list", cmd_schedules_list, as_json, parent=actions)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "imports", None):
        args.imports = [m for item in args.imports for m in item.split(",") if m]
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.url is not None:
            BackendURL.parse(args.url)
        if not getattr(args, "needs_bridge", True):
            return int(args.func(args))
        bridge = _bridge(args)
    except ConfigurationError as exc:
        print(f"taskbridge: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except TaskBridgeError as exc:
        print(f"taskbridge: error: {exc}", file=sys.stderr)
        return EXIT_PROBLEM
    try:
        return int(args.func(bridge, args))
    except TaskBridgeError as exc:
        print(f"taskbridge: error: {exc}", file=sys.stderr)
        return EXIT_PROBLEM
    finally:
        bridge.close()


if __name__ == "__main__":
    raise SystemExit(main())
