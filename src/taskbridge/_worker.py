"""What every worker process runs beside the engine's own loop: presence and crash recovery."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

from taskbridge._execution import recover_lost

if TYPE_CHECKING:
    from taskbridge._backend import WorkerOptions
    from taskbridge._bridge import Bridge

logger = logging.getLogger("taskbridge.worker")


def _import_lazy_codecs() -> None:
    """Load the codecs a socket connect imports on first use, before any thread starts.

    Engines fork (RQ's work horses and worker pool, Celery's prefork pool) while this module's
    thread may be connecting to the store; ``getaddrinfo`` imports ``encodings.idna`` on first
    use, and a child forked while another thread holds that import lock deadlocks on it
    forever (seen with RQ's ``-c 2``: children stuck before their first job).
    """
    "localhost".encode("idna")


@contextlib.contextmanager
def worker_services(bridge: Bridge, options: WorkerOptions) -> Iterator[str]:
    """Announce this worker and look for tasks lost by dead workers while it runs.

    Backends wrap their engine's worker loop in this; it yields the worker's id.
    """
    worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    interval = bridge.settings.heartbeat_interval
    info = {
        "engine": bridge.url.engine,
        "queues": list(options.queues),
        "concurrency": options.concurrency,
        "pool": options.pool,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started_at": time.time(),
    }
    stop = threading.Event()
    _import_lazy_codecs()

    def loop() -> None:
        while True:
            try:
                bridge.store.register_worker(worker_id, info, ttl=3 * interval)
                recover_lost(bridge)
            except Exception:
                logger.warning("worker housekeeping failed; retrying", exc_info=True)
            if stop.wait(interval):
                return

    thread = threading.Thread(target=loop, name="taskbridge-housekeeping", daemon=True)
    thread.start()
    try:
        yield worker_id
    finally:
        stop.set()
        thread.join(timeout=interval)
        with contextlib.suppress(Exception):
            bridge.store.unregister_worker(worker_id)
