"""Runs RQ's own worker (``--pool fork|simple``, ``-c N``) with its scheduler, inside taskbridge's
worker services.

Signals: RQ's worker owns SIGTERM/SIGINT, which mean warm shutdown (finish the current job, then
exit; a second signal a second or more later is a cold shutdown). We install RQ's handlers
ourselves before anything else, replacing ``taskbridge worker``'s, so no signal falls between the
two; ``options.stop``, set from code, is relayed to RQ as one SIGTERM. With ``-c N`` RQ's
``WorkerPool`` supervises N worker processes (each with its own horses) and relays the signal.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from multiprocessing import get_context
from typing import TYPE_CHECKING, Any

from redis import ConnectionPool, Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import SimpleWorker
from rq import Worker as RQWorker
from rq.exceptions import StopRequested
from rq.serializers import JSONSerializer
from rq.worker_pool import WorkerPool
from taskbridge import ConfigurationError
from taskbridge.plugin import Worker, die_with_parent, restored_signals

from taskbridge_rq.runner import TaskbridgeJob, report_failure, resend_if_never_started
from taskbridge_rq.scheduler import StartsScheduler

if TYPE_CHECKING:
    from taskbridge_rq.backend import RQBackend

logger = logging.getLogger("taskbridge.rq")

#: Seconds before a new RQ worker replaces one that quit unasked (RQ's WorkerPool checks on
#: its workers as often).
_RESTART_DELAY = 1.0


class _ResendDropped:
    """Hands every job RQ fails or drops to :func:`resend_if_never_started`.

    A job that ran says so by ``perform_job`` returning True, and costs nothing more; the
    check runs where RQ gives up on a job: ``perform_job`` failing (in the work horse, or in
    the worker with ``simple``) and ``execute_job`` raising (in the worker, before or while
    it watches its work horse), both of which happen when Redis goes away mid-job.
    """

    def perform_job(self, job: Any, queue: Any) -> bool:
        try:
            done: bool = super().perform_job(job, queue)  # type: ignore[misc]
        except BaseException:
            resend_if_never_started(job)
            raise
        if not done:
            resend_if_never_started(job)
        return done

    def execute_job(self, job: Any, queue: Any) -> None:
        try:
            super().execute_job(job, queue)  # type: ignore[misc]
        except BaseException:
            resend_if_never_started(job)
            raise


class ForkWorker(StartsScheduler, _ResendDropped, RQWorker):
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
        die_with_parent(self._taskbridge_parent)


class InlineWorker(StartsScheduler, _ResendDropped, SimpleWorker):
    """RQ's SimpleWorker (jobs run in the worker process), with dropped jobs sent again."""


WORKER_CLASSES: dict[str, type[RQWorker] | type[SimpleWorker]] = {
    "fork": ForkWorker,
    "simple": InlineWorker,
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


def run_worker(backend: RQBackend, worker: Worker) -> None:
    """Run until SIGTERM/SIGINT or ``worker.options.stop``; see the module docstring."""
    if threading.current_thread() is not threading.main_thread():
        raise ConfigurationError(
            "the RQ worker handles SIGTERM/SIGINT and SIGALRM, so it must run in the main "
            "thread; run 'taskbridge worker' in its own process"
        )
    options = worker.options
    queues = [backend.rq_queue_name(q) for q in options.queues]
    with worker.services(), restored_signals():
        if options.concurrency == 1:
            _run_single(worker, lambda: make_worker(backend.client, queues, worker.pool))
        else:
            pool = _Pool(backend.client, queues, worker.pool, options.concurrency)
            if not options.stop.is_set():
                with worker.when_stopped(pool.request_stop):
                    pool.start(burst=False, logging_level=_log_level())


def _run_single(worker: Worker, make: Callable[[], Any]) -> None:
    """Run one RQ worker in this process, and a fresh one whenever RQ quits unasked.

    RQ's worker quits on any error it did not expect, and a Redis restart while a job runs is
    one (its own reconnecting only covers waiting for jobs). RQ's WorkerPool starts a new
    worker when one dies; this does the same for ``-c 1``, so a Redis outage never ends
    ``taskbridge worker``.
    """
    stop = worker.options.stop
    while not stop.is_set():
        try:
            rq_worker = make()  # RQ names its connection, so this needs Redis too
        except (RedisConnectionError, RedisTimeoutError) as exc:
            logger.warning("cannot start an RQ worker: %s; trying again in %gs", exc,
                           _RESTART_DELAY)
        else:
            with restored_signals():  # until the next one, SIGTERM/SIGINT set options.stop
                if _work(worker, rq_worker):
                    return
            logger.warning("RQ worker %s quit without being asked to (is Redis reachable?); "
                           "starting a new one in %gs", rq_worker.name, _RESTART_DELAY)
        stop.wait(_RESTART_DELAY)


def _work(worker: Worker, rq_worker: Any) -> bool:
    """Run ``rq_worker`` until it returns; True when it stopped because it was asked to."""
    rq_worker._install_signal_handlers()  # RQ's warm shutdown, from this instant on
    if worker.options.stop.is_set():
        return True

    def ask_rq_to_stop() -> None:
        if rq_worker._shutdown_requested_date is None:  # not already shutting down
            os.kill(os.getpid(), signal.SIGTERM)

    try:
        with worker.when_stopped(ask_rq_to_stop):
            rq_worker.work(with_scheduler=True, logging_level=_log_level())
    except StopRequested:
        return True  # the relay's signal landed just as RQ returned: we are stopping anyway
    except (RedisConnectionError, RedisTimeoutError):
        # Registering the worker's birth or death needs Redis, and RQ lets that error out.
        logger.error("RQ worker %s lost Redis", rq_worker.name, exc_info=True)
    return rq_worker._shutdown_requested_date is not None or worker.options.stop.is_set()


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
            target=_pool_child, args=(os.getpid(), connect, self._queue_names, self._mode, name),
            name=f"taskbridge-rq worker {name} (pool {self.name})",
        )


def _pool_child(parent: int, connect: tuple[Any, Any, dict[str, Any]], queues: list[str],
                mode: str, name: str) -> None:
    # Killed with the pool: an orphaned RQ worker would go on taking jobs (and its horses and
    # scheduler, tied to it in turn, with it), and the restarted pool would add more.
    die_with_parent(parent)
    client_class, pool_class, pool_kwargs = connect
    connection = client_class(
        connection_pool=ConnectionPool(connection_class=pool_class, **pool_kwargs)
    )
    make_worker(connection, queues, mode, name=name).work(
        with_scheduler=True, logging_level=_log_level()
    )
