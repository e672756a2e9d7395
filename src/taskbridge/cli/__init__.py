"""The ``taskbridge`` command line: run workers and schedulers, look at and act on the backend.

Exit codes: 0 ok; 1 a problem found (backend unreachable, unknown id, a retry refused);
2 usage or configuration (bad arguments, a ``--url`` that does not parse, an unknown engine).
Read commands take ``--json`` for scripts.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import attrs

from taskbridge._bridge import Bridge
from taskbridge._config import BackendURL, Settings
from taskbridge._dashboard import command as dashboard
from taskbridge._errors import ConfigurationError, TaskBridgeError
from taskbridge._unavailable import translated
from taskbridge.cli._executions import cmd_failed, cmd_inspect, cmd_purge
from taskbridge.cli._output import (
    EXIT_OK,
    EXIT_PROBLEM,
    EXIT_USAGE,
    OutputClosed,
    fail,
    require_databases,
)
from taskbridge.cli._schedules import cmd_schedules_add, cmd_schedules_list, schedule_action
from taskbridge.cli._status import cmd_status
from taskbridge.cli._tasks import cmd_capabilities, cmd_tasks
from taskbridge.cli._workers import cmd_scheduler, cmd_worker

__all__ = [
    "EXIT_OK", "EXIT_PROBLEM", "EXIT_USAGE", "build_parser", "commands", "main", "run_command",
]


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds, 0 or more")
    return value


def build_parser(prog: str = "taskbridge") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__,
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
    worker.add_argument("-c", "--concurrency", type=int, default=1)
    worker.add_argument("-q", "--queue", dest="queues", action="append",
                        help="queue to consume (repeatable; default: every queue known: the "
                        "default queue, the routes' and the imported tasks')")
    worker.add_argument("--pool", help="engine-specific pool/worker class")
    worker.add_argument("-E", "--events", action="store_true",
                        help="send the engine's task events, for Flower and 'celery events' "
                             "(Celery)")

    scheduler = command("scheduler", cmd_scheduler)
    scheduler.add_argument("--max-sleep", type=float, default=1.0, metavar="SECONDS",
                           help="longest sleep between store reads (default 1)")

    # Read commands act on a store that exists: they never create an SQLite file.
    reads = argparse.ArgumentParser(add_help=False)
    reads.set_defaults(reads_only=True)
    command("status", cmd_status, as_json, reads)
    command("inspect", cmd_inspect, as_json, reads).add_argument("id", help="execution id")
    failed = command("failed", cmd_failed, as_json, reads)
    retry = failed.add_mutually_exclusive_group()
    retry.add_argument("--retry", metavar="ID", help="re-enqueue one failed execution")
    retry.add_argument("--retry-all", action="store_true",
                       help="re-enqueue every failed one (of --task and --queue, if given)")
    retry.add_argument("--discard", metavar="ID",
                       help="take one off the list without retrying it (its record stays)")
    failed.add_argument("--task", metavar="NAME", help="only this task's")
    failed.add_argument("--queue", metavar="NAME", help="only this queue's")
    failed.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    command("purge", cmd_purge, as_json).add_argument(
        "--older-than", type=_seconds, metavar="SECONDS",
        help="remove every finished execution this old (default: those past result_ttl, "
             "FAILED ones past failed_ttl)")
    command("tasks", cmd_tasks, as_json, reads)
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
        command(action, schedule_action(action), reads, parent=actions).add_argument("name")
    command("list", cmd_schedules_list, as_json, reads, parent=actions)
    return parser


def commands() -> dict[str, str]:
    """Every command's name and one-line summary, for adapters that offer them under their
    framework's own command line (``flask taskbridge ...``)."""
    parser = build_parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {name: " ".join((p.description or "").split("\n\n")[0].split())
            for name, p in sub.choices.items()}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    return run_command(argv)


def run_command(
    argv: Sequence[str] | None = None, *, bridge: Bridge | None = None,
    prog: str = "taskbridge",
) -> int:
    """Run one ``taskbridge`` command (``["status", "--json"]``); returns its exit code.

    With ``bridge`` (a framework adapter's, configured from its settings), commands use it
    unless ``--url`` or ``--imports`` override its settings; the caller keeps it open.
    ``prog`` names the command in usage and help (``flask taskbridge``).

    No traceback reaches the user: errors are one ``taskbridge: error: ...`` line on stderr
    (and, with ``--json``, ``{"error": {"type", "message"}}`` on stdout); ``-v`` adds the
    traceback of an unexpected one.
    """
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if getattr(args, "imports", None):
        args.imports = [m for item in args.imports for m in item.split(",") if m]
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        code = _run(args, bridge)
        sys.stdout.flush()
        return code
    except (BrokenPipeError, OutputClosed):
        # The reader stopped reading (``taskbridge tasks --json | head``): not our error.
        _discard_stdout()
        return EXIT_OK
    except Exception as exc:
        if args.verbose:
            traceback.print_exc()
        return fail(args, exc, EXIT_PROBLEM,
                    hint="" if args.verbose else " (run with -v for the traceback)")


def _run(args: argparse.Namespace, bridge: Bridge | None) -> int:
    try:
        if args.url is not None:
            BackendURL.parse(args.url)
        # A given bridge's store is open already; a new one must not create a database.
        if getattr(args, "reads_only", False) and (bridge is None or args.url is not None):
            require_databases(Settings.resolve(url=args.url).url)
        if not getattr(args, "needs_bridge", True):
            return int(args.func(args))
        used = _bridge_for(args, bridge)
    except ConfigurationError as exc:
        return fail(args, exc, EXIT_USAGE)
    except TaskBridgeError as exc:
        return fail(args, exc, EXIT_PROBLEM)
    try:
        with translated(used, f"run 'taskbridge {args.command}'"):
            return int(args.func(used, args))
    except ConfigurationError as exc:
        return fail(args, exc, EXIT_USAGE)
    except TaskBridgeError as exc:
        return fail(args, exc, EXIT_PROBLEM)
    finally:
        if used is not bridge:
            used.close()


def _bridge_for(args: argparse.Namespace, given: Bridge | None) -> Bridge:
    """The bridge a command runs with: ``given`` unless ``--url``/``--imports`` change it."""
    if given is None:
        return Bridge(args.url, imports=args.imports)
    overrides = {"url": args.url, "imports": args.imports}
    overrides = {key: value for key, value in overrides.items() if value is not None}
    if not overrides:
        return given
    return Bridge(settings=attrs.evolve(given.settings, **overrides))


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


if __name__ == "__main__":
    raise SystemExit(main())
