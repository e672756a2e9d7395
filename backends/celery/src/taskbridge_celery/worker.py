"""``taskbridge worker`` on Celery: Celery's own worker, in this process, beside taskbridge's
worker services."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from celery import Celery
from celery.worker import state as celery_state

from taskbridge import ConfigurationError
from taskbridge.plugin import worker_services
from taskbridge_celery.config import CeleryConfig
from taskbridge_celery.worker_app import register_tasks, set_worker_bridge

if TYPE_CHECKING:
    from taskbridge import Bridge, WorkerOptions

logger = logging.getLogger("taskbridge.celery")

#: ``--pool`` values, as Celery names them. gevent/eventlet need their own packages and
#: monkey-patching before anything else is imported, which this in-process start cannot do.
POOLS = ("prefork", "threads", "solo")
_THREADS_NOTE = "tasks run outside a main thread, where no alarm can interrupt them"


def run_worker(app: Celery, config: CeleryConfig, bridge: Bridge, options: WorkerOptions) -> None:
    """Run Celery's worker on ``options.queues`` until SIGTERM/SIGINT or ``options.stop``.

    Celery installs its own signal handlers when it starts (SIGTERM and a first SIGINT: warm
    shutdown, finishing running tasks; a second SIGINT or SIGQUIT: cold), replacing the ones
    ``taskbridge worker`` set; ``options.stop`` is honoured the same way, as a warm shutdown.
    """
    pool = options.pool or "prefork"
    if pool not in POOLS:
        raise ConfigurationError(
            f"--pool {pool!r} is not supported by the Celery backend; use one of "
            f"{', '.join(POOLS)}"
        )
    if options.concurrency < 1:
        raise ConfigurationError(f"--concurrency must be at least 1, got {options.concurrency}")
    if pool == "threads":
        logger.warning("--pool threads: timeout= is not enforced (%s)", _THREADS_NOTE)
    set_worker_bridge(bridge)
    register_tasks(app)
    celery_state.should_stop = celery_state.should_terminate = None
    queues = [config.queue_name(q) for q in options.queues]
    hostname = f"{config.namespace}.{os.getpid()}@{socket.gethostname()}"
    with worker_services(bridge, options), _restored_signals():
        worker = app.Worker(
            hostname=hostname,
            queues=queues,
            concurrency=options.concurrency,
            pool=pool,
            loglevel=logging.getLevelName(logging.getLogger().getEffectiveLevel()),
            without_mingle=True,
            without_gossip=True,
            optimization="fair",
            quiet=not logger.isEnabledFor(logging.INFO),
        )
        watcher = threading.Thread(target=_stop_when_asked, args=(options.stop,),
                                   name="taskbridge-celery-stop", daemon=True)
        watcher.start()
        try:
            worker.start()
        finally:
            options.stop.set()
            watcher.join(timeout=2)
            set_worker_bridge(None)
    if worker.exitcode:
        logger.warning("Celery worker exited with code %s", worker.exitcode)


def _stop_when_asked(stop: threading.Event) -> None:
    stop.wait()
    if celery_state.should_stop is None and celery_state.should_terminate is None:
        celery_state.should_stop = 0  # what Celery's own SIGTERM handler does: warm shutdown


@contextmanager
def _restored_signals() -> Iterator[None]:
    """Put back the caller's SIGTERM/SIGINT handlers once Celery's worker is gone."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved: dict[int, Any] = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
