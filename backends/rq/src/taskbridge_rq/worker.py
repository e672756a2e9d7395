"""Runs RQ's own worker (``--pool fork|simple``, ``-c N``) with its scheduler, inside taskbridge's
worker services.

Signals: RQ's worker owns SIGTERM/SIGINT, which mean warm shutdown (finish the current job, then
exit; a second signal a second or more later is a cold shutdown). We install RQ's handlers
ourselves before anything else, replacing ``taskbridge worker``'s, so no signal falls between the
two; ``options.stop``, set from code, is relayed to RQ as one SIGTERM. With ``-c N`` RQ's
``WorkerPool`` supervises N worker processes (each with its own horses) and relays the signal.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import threading
from collections.abc import Callable
from multiprocessing import get_context
from typing import TYPE_CHECKING, Any

from redis import ConnectionPool, Redis
from rq import SimpleWorker, Worker
from rq.exceptions import StopRequested
from rq.serializers import JSONSerializer
from rq.worker_pool import WorkerPool
from taskbridge.errors import ConfigurationError
from taskbridge.worker import worker_services

from taskbridge_rq.backend import CAPABILITIES_BY_MODE, DEFAULT_POOL
from taskbridge_rq.runner import TaskbridgeJob, bind, report_failure

if TYPE_CHECKING:
    from taskbridge.backend import WorkerOptions
    from taskbridge.bridge import Bridge

    from taskbridge_rq.backend import RQBackend

_RELAY_POLL = 0.2
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _die_with_parent(parent: int) -> None:
    """Have the kernel SIGKILL this process when ``parent`` dies (Linux; a no-op elsewhere)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before prctl took effect
        os._exit(1)


class ForkWorker(Worker):
    """RQ's forking worker whose work horses die with it.

    RQ puts each horse in its own process group, so killing a worker (OOM, SIGKILL of its
    group) would leave the horse running its task unsupervised: no timeout monitor, and a
    task neither finished nor declared lost. Tied to the worker, the horse dies too and
    taskbridge's crash recovery retries or fails the task.
    """

    def fork_work_horse(self, job: Any, queue: Any) -> None:
        self._taskbridge_parent = os.getpid()
        super().fork_work_horse(job, queue)

    def setup_work_horse_signals(self) -> None:
        super().setup_work_horse_signals()  # type: ignore[no-untyped-call]
        _die_with_parent(self._taskbridge_parent)


WORKER_CLASSES: dict[str, type[Worker] | type[SimpleWorker]] = {
    "fork": ForkWorker,
    "simple": SimpleWorker,
}


def make_worker(connection: Redis, queues: list[str], mode: str, name: str | None = None) -> Any:
    """An RQ worker that decodes JSON only, runs only taskbridge's runner, reports the rest."""
    return WORKER_CLASSES[mode](
        queues,
        name=name,
        connection=connection,
        serializer=JSONSerializer,
        job_class=TaskbridgeJob,
        exception_handlers=[report_failure],
        default_result_ttl=0,
    )


def _log_level() -> str:
    return logging.getLevelName(logging.getLogger().getEffectiveLevel())


def run_worker(backend: RQBackend, bridge: Bridge, options: WorkerOptions) -> None:
    """Run until SIGTERM/SIGINT or ``options.stop``; see the module docstring."""
    mode = options.pool or DEFAULT_POOL
    if mode not in WORKER_CLASSES:
        raise ConfigurationError(
            f"--pool {mode!r} is not an RQ worker mode; use one of "
            f"{', '.join(sorted(CAPABILITIES_BY_MODE))}"
        )
    if options.concurrency < 1:
        raise ConfigurationError(f"-c/--concurrency must be at least 1, got {options.concurrency}")
    if threading.current_thread() is not threading.main_thread():
        raise ConfigurationError(
            "the RQ worker handles SIGTERM/SIGINT and SIGALRM, so it must run in the main "
            "thread; run 'taskbridge worker' in its own process"
        )
    queues = [backend.rq_queue_name(q) for q in options.queues]
    with worker_services(bridge, options) as worker_id:
        bind(bridge, worker_id)
        if options.concurrency == 1:
            _run_single(make_worker(backend.client, queues, mode), options)
        else:
            _run_pool(_Pool(backend.client, queues, mode, options.concurrency), options)


def _relay(
    stop: threading.Event, done: threading.Event, act: Callable[[], None]
) -> threading.Thread:
    def watch() -> None:
        while not done.is_set():
            if stop.wait(_RELAY_POLL):
                if not done.is_set():
                    act()
                return

    thread = threading.Thread(target=watch, name="taskbridge-rq-stop-relay", daemon=True)
    thread.start()
    return thread


def _run_single(worker: Any, options: WorkerOptions) -> None:
    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    worker._install_signal_handlers()  # RQ's warm shutdown, from this instant on
    if options.stop.is_set():
        return

    def ask_rq_to_stop() -> None:
        if worker._shutdown_requested_date is None:  # not already shutting down
            os.kill(os.getpid(), signal.SIGTERM)

    done = threading.Event()
    relay = _relay(options.stop, done, ask_rq_to_stop)
    try:
        try:
            worker.work(with_scheduler=True, logging_level=_log_level())
        finally:
            done.set()
            relay.join()
    except StopRequested:
        pass  # the relay's signal landed just as RQ returned: we are stopping anyway
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class _Pool(WorkerPool):
    """RQ's WorkerPool, with children built like the single worker (JSON, runner-only jobs)."""

    def __init__(self, connection: Redis, queues: list[str], mode: str, size: int) -> None:
        super().__init__(queues, connection=connection, num_workers=size,
                         worker_class=WORKER_CLASSES[mode], serializer=JSONSerializer,
                         job_class=TaskbridgeJob)
        self._mode = mode

    def get_worker_process(self, name: str, burst: bool, _sleep: float = 0,
                           logging_level: str = "INFO") -> Any:
        # Forked, not spawned: the child inherits the bound bridge. Like RQ's own pool, it
        # makes its own Redis client rather than share this process's connection pool.
        connect = (self._connection_class, self._pool_class, self._pool_kwargs)
        return get_context("fork").Process(
            target=_pool_child, args=(connect, self._queue_names, self._mode, name),
            name=f"taskbridge-rq worker {name} (pool {self.name})",
        )


def _pool_child(connect: tuple[Any, Any, dict[str, Any]], queues: list[str], mode: str,
                name: str) -> None:
    client_class, pool_class, pool_kwargs = connect
    connection = client_class(
        connection_pool=ConnectionPool(connection_class=pool_class, **pool_kwargs)
    )
    make_worker(connection, queues, mode, name=name).work(
        with_scheduler=True, logging_level=_log_level()
    )


def _run_pool(pool: _Pool, options: WorkerOptions) -> None:
    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    if options.stop.is_set():
        return
    done = threading.Event()
    relay = _relay(options.stop, done, pool.request_stop)
    try:
        pool.start(burst=False, logging_level=_log_level())
    finally:
        done.set()
        relay.join()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
