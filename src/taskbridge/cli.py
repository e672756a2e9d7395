"""The ``taskbridge`` command line."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from typing import Any

from taskbridge.backend import WorkerOptions
from taskbridge.bridge import Bridge
from taskbridge.errors import TaskBridgeError

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2


def _bridge(args: argparse.Namespace) -> Bridge:
    return Bridge(args.url, imports=args.imports)


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the engine's own worker until SIGTERM/SIGINT."""
    bridge = _bridge(args)
    options = WorkerOptions(
        queues=tuple(args.queues or [bridge.settings.default_queue]),
        concurrency=args.concurrency,
        pool=args.pool,
    )

    def stop(signum: int, frame: Any) -> None:
        options.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        bridge.backend.run_worker(bridge, options)
    finally:
        bridge.close()
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="taskbridge", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", help="backend URL (default: $TASKBRIDGE_URL or huey+sqlite)")
    common.add_argument("--imports", action="append", default=None,
                        help="module defining tasks (repeatable or comma-separated)")
    common.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True)

    worker = sub.add_parser("worker", parents=[common], help=cmd_worker.__doc__)
    worker.add_argument("-c", "--concurrency", type=int, default=1)
    worker.add_argument("-q", "--queue", dest="queues", action="append",
                        help="queue to consume (repeatable; default: the default queue)")
    worker.add_argument("--pool", help="engine-specific pool/worker class")
    worker.set_defaults(func=cmd_worker)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "imports", None):
        args.imports = [m for item in args.imports for m in item.split(",") if m]
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args))
    except TaskBridgeError as exc:
        print(f"taskbridge: error: {exc}", file=sys.stderr)
        return EXIT_PROBLEM


if __name__ == "__main__":
    raise SystemExit(main())
