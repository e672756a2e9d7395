"""``taskbridge worker`` on Celery: Celery's own worker, in this process, beside taskbridge's
worker services."""

from __future__ import annotations

import logging
import os
import socket

from celery import Celery
from celery.worker import state as celery_state

from taskbridge.plugin import Worker, restored_signals
from taskbridge_celery.config import CeleryConfig
from taskbridge_celery.worker_app import register_tasks

logger = logging.getLogger("taskbridge.celery")


def run_worker(app: Celery, config: CeleryConfig, worker: Worker) -> None:
    """Run Celery's worker on the worker's queues until SIGTERM/SIGINT or ``options.stop``.

    Celery installs its own signal handlers when it starts (SIGTERM and a first SIGINT: warm
    shutdown, finishing running tasks; a second SIGINT or SIGQUIT: cold), replacing the ones
    ``taskbridge worker`` set, which come back afterwards; ``options.stop`` is honoured the same
    way, as a warm shutdown.
    """
    options = worker.options
    register_tasks(app)
    celery_state.should_stop = celery_state.should_terminate = None
    hostname = f"{config.namespace}.{os.getpid()}@{socket.gethostname()}"
    with worker.services(), restored_signals():
        celery_worker = app.Worker(
            hostname=hostname,
            queues=[config.queue_name(q) for q in options.queues],
            concurrency=options.concurrency,
            pool=worker.pool,
            # -E/--events: task events for Flower and `celery events`; off by default, as in
            # Celery, since every task then publishes several messages more.
            task_events=options.events,
            loglevel=logging.getLevelName(logging.getLogger().getEffectiveLevel()),
            without_mingle=True,
            without_gossip=True,
            optimization="fair",
            quiet=not logger.isEnabledFor(logging.INFO),
        )
        with worker.when_stopped(_warm_shutdown):
            celery_worker.start()
    if celery_worker.exitcode:
        logger.warning("Celery worker exited with code %s", celery_worker.exitcode)


def _warm_shutdown() -> None:
    if celery_state.should_stop is None and celery_state.should_terminate is None:
        celery_state.should_stop = 0  # what Celery's own SIGTERM handler does: warm shutdown
