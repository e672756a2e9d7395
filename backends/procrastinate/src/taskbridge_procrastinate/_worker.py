"""The worker: Procrastinate's own, each job handed to the core's execute path.

``taskbridge worker -q a -q b -c N`` runs one ``procrastinate.worker.Worker`` on the queues
``<namespace>.a`` and ``<namespace>.b`` with concurrency N: each job's function runs in a
thread of a pool of N (as Procrastinate runs every synchronous task) and hands its envelope to
``worker.execute``. Procrastinate records the job's outcome in its table: ``succeeded``,
``failed`` when the attempt failed (taskbridge's retry policy sends any next attempt as a job of
its own; Procrastinate never retries), ``aborted`` when the execution was canceled.

A worker killed mid-job leaves its job ``doing``. The core's crash recovery settles the
execution (retried or FAILED, "worker lost"); every worker also marks ``failed`` the ``doing``
jobs on its queues whose Procrastinate worker stopped sending heartbeats (Procrastinate's own
``get_stalled_jobs``), so Procrastinate's tools show the lost attempt as failed, not running.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from procrastinate import App, PsycopgConnector
from procrastinate.exceptions import JobAborted
from procrastinate.jobs import Status as JobStatus
from procrastinate.tasks import Task
from procrastinate.worker import Worker as ProcrastinateWorker

from taskbridge import Status
from taskbridge.plugin import AttemptFailed, Envelope

if TYPE_CHECKING:
    from taskbridge.plugin import Worker

logger = logging.getLogger("taskbridge.procrastinate")

#: Seconds between the worker's looks for due jobs when no notification came: delayed jobs
#: start within the contract's second.
POLL_INTERVAL = 0.25
#: Seconds between looks for abort requests (the store tells a running task already).
ABORT_POLL_INTERVAL = 1.0
#: Threads of the worker's pool besides one per job.
SPARE_THREADS = 4
#: A Procrastinate worker silent for this many of taskbridge's heartbeats is stalled (with the
#: default 5 s heartbeat: 30 s, Procrastinate's own default).
STALLED_HEARTBEATS = 6


class RejectedJob(Exception):
    """A job on a taskbridge queue whose arguments are not a taskbridge envelope."""


class _AnyTask(dict[str, Task[Any, Any, Any]]):
    """Procrastinate's task registry for a taskbridge worker: every task name is a taskbridge
    task, run by the one runner (the core refuses names it does not know)."""

    def __init__(self, worker: Worker, app: App) -> None:
        super().__init__(app.tasks)
        self._worker, self._app = worker, app

    def get(self, name: str, default: Any = None) -> Task[Any, Any, Any]:
        found = dict.get(self, name)
        if found is None:
            found = self[name] = Task(_runner(self._worker), blueprint=self._app, name=name,
                                      queue="default", retry=False)
        return found

    def __getitem__(self, name: str) -> Task[Any, Any, Any]:
        return self.get(name)


def _runner(worker: Worker) -> Callable[..., None]:
    def run(**kwargs: Any) -> None:
        """One attempt through the core; the outcome told to Procrastinate."""
        text, id = kwargs.get("envelope"), kwargs.get("id")
        try:
            if not isinstance(text, str):
                raise ValueError("its arguments hold no 'envelope' text")
            envelope = Envelope.loads(text)
        except ValueError as exc:
            if isinstance(id, str):
                worker.reject(id, "MalformedEnvelope", f"Procrastinate job: {exc}")
            raise RejectedJob(f"not a taskbridge job: {exc}") from exc
        record = worker.execute(envelope, name=worker.id)
        if record is None:
            return
        if record.status is Status.FAILED or (
            record.status is Status.RETRYING and record.attempts == envelope.attempt
        ):
            raise AttemptFailed.of(record)
        if record.status is Status.CANCELED:
            raise JobAborted(f"{record.task_name} [{record.id}] was canceled")

    return run


def run(worker: Worker, conninfo: str, queues: list[str]) -> None:
    """Run Procrastinate's worker on ``queues`` until ``worker.options.stop`` is set (or
    SIGTERM/SIGINT sets it), letting running jobs finish."""
    with worker.stop_on_signals(), worker.services():
        logger.info("procrastinate worker: %s, concurrency %d", ", ".join(queues),
                    worker.options.concurrency)
        asyncio.run(_serve(worker, conninfo, queues))
        logger.info("procrastinate worker stopped")


async def _serve(worker: Worker, conninfo: str, queues: list[str]) -> None:
    options = worker.options
    heartbeat = worker.bridge.settings.heartbeat_interval
    # Procrastinate runs sync jobs in the loop's default executor, at most ``concurrency`` at a
    # time; the spare threads are for the loop's own blocking calls (psycopg's address lookups
    # when its pool opens a connection), which would otherwise wait behind long jobs.
    executor = ThreadPoolExecutor(options.concurrency + SPARE_THREADS,
                                  thread_name_prefix="procrastinate")
    asyncio.get_running_loop().set_default_executor(executor)
    app = App(connector=PsycopgConnector(conninfo=conninfo))
    app.tasks = _AnyTask(worker, app)
    async with app.open_async():
        engine = ProcrastinateWorker(
            app, queues=queues, name=worker.id, concurrency=options.concurrency,
            fetch_job_polling_interval=POLL_INTERVAL,
            abort_job_polling_interval=ABORT_POLL_INTERVAL,
            install_signal_handlers=False,  # taskbridge's handlers set options.stop
            update_heartbeat_interval=heartbeat,
            stalled_worker_timeout=heartbeat * STALLED_HEARTBEATS,
        )
        running = asyncio.create_task(engine.run(),  # type: ignore[no-untyped-call]
                                      name="procrastinate worker")
        sweep = asyncio.create_task(_fail_stalled(app, queues, heartbeat), name="stalled jobs")
        try:
            while not options.stop.is_set() and not running.done():
                await asyncio.wait({running}, timeout=0.1)
        finally:
            sweep.cancel()
            engine.stop()  # type: ignore[no-untyped-call]
            await running


async def _fail_stalled(app: App, queues: list[str], heartbeat: float) -> None:
    """Mark ``failed`` the ``doing`` jobs of ``queues`` whose worker is gone, every two
    heartbeats."""
    while True:
        await asyncio.sleep(heartbeat * 2)
        try:
            stalled = await app.job_manager.get_stalled_jobs(
                seconds_since_heartbeat=heartbeat * STALLED_HEARTBEATS)
            for job in stalled:
                if job.queue in queues:
                    await app.job_manager.finish_job(job, JobStatus.FAILED, delete_job=False)
                    logger.info("Procrastinate job %s (%s) of a lost worker marked failed",
                                job.id, job.task_name)
        except Exception:  # the next pass tries again; the core settles the execution anyway
            logger.warning("could not look for stalled Procrastinate jobs", exc_info=True)
