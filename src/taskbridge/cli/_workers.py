"""The long-running commands: ``taskbridge worker`` and ``taskbridge scheduler``."""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

from taskbridge._backend import WorkerOptions
from taskbridge._bridge import Bridge
from taskbridge._worker import run_worker
from taskbridge.cli._output import EXIT_OK


def _on_stop_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the engine's own worker until SIGTERM/SIGINT."""
    bridge = Bridge(args.url, imports=args.imports)
    options = WorkerOptions(
        queues=tuple(args.queues or [bridge.settings.default_queue]),
        concurrency=args.concurrency,
        pool=args.pool,
        events=args.events,
    )
    _on_stop_signals(options.stop)
    try:
        run_worker(bridge, options)
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
