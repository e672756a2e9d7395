"""The long-running commands: ``taskbridge worker`` and ``taskbridge scheduler``."""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

from taskbridge import _registry
from taskbridge._backend import WorkerOptions
from taskbridge._bridge import Bridge
from taskbridge._worker import run_worker
from taskbridge.cli._output import EXIT_OK


def _on_stop_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def known_queues(bridge: Bridge) -> list[str]:
    """The queues this process knows of: the default queue, the routes' and those of the
    registered tasks (``--imports``)."""
    names = {bridge.settings.default_queue, *bridge.settings.routes.values()}
    names.update(t.queue for t in _registry.all_tasks().values() if t.queue)
    return sorted(names)


def cmd_worker(bridge: Bridge, args: argparse.Namespace) -> int:
    """Run the engine's own worker until SIGTERM/SIGINT.

    Without ``-q`` it consumes every queue it knows of: the default queue, the routes' and
    those of the tasks its ``--imports`` register.
    """
    options = WorkerOptions(
        queues=tuple(args.queues or known_queues(bridge)),
        concurrency=args.concurrency,
        pool=args.pool,
        events=args.events,
    )
    _on_stop_signals(options.stop)
    run_worker(bridge, options)
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
