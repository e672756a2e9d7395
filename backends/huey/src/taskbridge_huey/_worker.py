"""The worker: Huey's own consumer, one per queue, driven from one main loop.

``taskbridge worker -q a -q b -c N`` starts one ``huey.consumer.Consumer`` per queue, each
with N workers of the chosen type (``thread``: threads in this process; ``process``: forked
processes) and its own scheduler thread. Consumers only start threads or processes and return,
so one main loop supervises them all: it watches ``options.stop`` (set by SIGTERM/SIGINT),
checks worker health, and on stop lets every worker finish its current task. Forked workers and
schedulers die with the process that started them.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from huey.constants import WORKER_PROCESS
from huey.consumer import Consumer, ProcessEnvironment, Scheduler

from taskbridge.plugin import die_with_parent

if TYPE_CHECKING:
    from taskbridge.plugin import Worker
    from taskbridge_huey._huey import TaskbridgeHuey

logger = logging.getLogger("taskbridge.huey")

#: Seconds between looks at the schedule and, on SQLite, between polls of an idle queue:
#: together they keep ``delay=`` within the contract's second.
POLL_INTERVAL = 0.25
HEALTH_CHECK_INTERVAL = 10.0


class _Scheduler(Scheduler):  # type: ignore[misc]
    # Huey clamps the schedule interval to at least one second; a delayed task would then
    # start up to a second late plus the polling delay.
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.interval = POLL_INTERVAL


class _ProcessEnvironment(ProcessEnvironment):  # type: ignore[misc]
    """Huey's ``process`` worker type, each child tied to the consumer's process.

    A killed worker's children would otherwise live on, re-parented to init and still taking
    messages (they ignore SIGINT and, idle, SIGTERM), unseen by the restarted worker.
    """

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._parent = os.getpid()  # the consumer's process, which forks every child

    def init_child(self, process: Any) -> None:
        die_with_parent(self._parent)
        super().init_child(process)


class _Consumer(Consumer):  # type: ignore[misc]
    scheduler_class = _Scheduler

    def get_environment(self, worker_type: str) -> Any:
        if worker_type == WORKER_PROCESS:
            return _ProcessEnvironment(self._graceful_sig, self._interrupt_sig)
        return super().get_environment(worker_type)

    def _set_signal_handlers(self) -> None:
        # The taskbridge main loop owns SIGTERM/SIGINT (and may not run on the main thread,
        # where Huey would install its own); they reach the consumers through ``stop``.
        return None


def run_consumers(worker: Worker, hueys: Sequence[TaskbridgeHuey]) -> None:
    """Run one Huey consumer per queue until ``worker.options.stop`` is set, then drain them."""
    options = worker.options
    for huey in hueys:
        huey.sync_registry()
    consumers = [
        _Consumer(huey, workers=options.concurrency, worker_type=worker.pool, periodic=False,
                  initial_delay=0.05, backoff=1.5, max_delay=POLL_INTERVAL,
                  check_worker_health=True, health_check_interval=HEALTH_CHECK_INTERVAL)
        for huey in hueys
    ]
    with worker.stop_on_signals():
        # Started before the housekeeping thread, so forked workers never copy a process
        # in which another thread may hold a lock.
        for consumer in consumers:
            consumer.start()
        try:
            with worker.services():
                logger.info("huey worker: %s, %d %s worker(s) each", ", ".join(
                    h.name for h in hueys), options.concurrency, worker.pool)
                _supervise(consumers, options.stop)
        finally:
            _drain(consumers)


def _supervise(consumers: Sequence[Consumer], stop: threading.Event) -> None:
    checked = time.monotonic()
    while not stop.wait(0.1):
        if time.monotonic() - checked >= HEALTH_CHECK_INTERVAL:
            checked = time.monotonic()
            for consumer in consumers:
                consumer.check_worker_health()


def _drain(consumers: Sequence[Consumer]) -> None:
    """Stop every consumer at once and wait for their running tasks to finish."""
    for consumer in consumers:
        consumer.stop_flag.set()
    for consumer in consumers:
        consumer.stop(graceful=True)
        consumer.huey.notify_interrupted_tasks()
    logger.info("huey worker stopped")
