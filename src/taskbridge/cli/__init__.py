"""The ``taskbridge`` command line: run workers and schedulers, look at and act on the backend.

Exit codes: 0 ok; 1 a problem found (backend unreachable, unknown id, a retry refused);
2 usage or configuration (bad arguments, a ``--url`` that does not parse, an unknown engine).
Read commands take ``--json`` for scripts.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from typing import Any

from taskbridge._bridge import Bridge
from taskbridge._config import BackendURL
from taskbridge._dashboard import command as dashboard
from taskbridge._errors import ConfigurationError, TaskBridgeError
from taskbridge.cli._executions import cmd_failed, cmd_inspect, cmd_status
from taskbridge.cli._output import EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, error
from taskbridge.cli._schedules import cmd_schedules_add, cmd_schedules_list, schedule_action
from taskbridge.cli._tasks import cmd_capabilities, cmd_tasks
from taskbridge.cli._workers import cmd_scheduler, cmd_worker

__all__ = ["EXIT_OK", "EXIT_PROBLEM", "EXIT_USAGE", "build_parser", "main"]


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
    worker.add_argument("-E", "--events", action="store_true",
                        help="send the engine's task events, for Flower and 'celery events' "
                             "(Celery)")

    scheduler = command("scheduler", cmd_scheduler)
    scheduler.add_argument("--max-sleep", type=float, default=1.0, metavar="SECONDS",
                           help="longest sleep between store reads (default 1)")

    command("status", cmd_status, as_json)
    command("inspect", cmd_inspect, as_json).add_argument("id", help="execution id")
    failed = command("failed", cmd_failed, as_json)
    retry = failed.add_mutually_exclusive_group()
    retry.add_argument("--retry", metavar="ID", help="re-enqueue one failed execution")
    retry.add_argument("--retry-all", action="store_true", help="re-enqueue every failed one")
    failed.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    command("tasks", cmd_tasks, as_json)
    command("capabilities", cmd_capabilities, as_json).set_defaults(needs_bridge=False)
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
        command(action, schedule_action(action), parent=actions).add_argument("name")
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
        bridge = Bridge(args.url, imports=args.imports)
    except ConfigurationError as exc:
        error(exc)
        return EXIT_USAGE
    except TaskBridgeError as exc:
        error(exc)
        return EXIT_PROBLEM
    try:
        return int(args.func(bridge, args))
    except TaskBridgeError as exc:
        error(exc)
        return EXIT_PROBLEM
    finally:
        bridge.close()


if __name__ == "__main__":
    raise SystemExit(main())
