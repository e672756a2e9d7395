"""RQ's scheduler, made to skip a scheduled job hash it cannot read instead of dying on it, and
to die with the worker that started it."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.exceptions import NoSuchJobError
from rq.scheduler import RQScheduler
from rq.utils import current_timestamp
from taskbridge.plugin import die_with_parent

from taskbridge_rq.runner import TaskbridgeJob


class Scheduler(RQScheduler):
    """RQ's scheduler, reading each due job as a :class:`TaskbridgeJob` before moving it.

    Stock RQ reads all due jobs at once with its plain ``Job``: one hash it cannot parse (a bad
    status, date or JSON field) raises, the scheduler process dies, and after every restart it
    dies again on the same job, so no delayed task or retry on that queue is ever enqueued.
    Read first as a ``TaskbridgeJob``, such a hash is reported and deleted (see
    ``TaskbridgeJob.restore``), and RQ's own pass then skips it as a job that is gone.

    RQ forks the scheduler from its worker (``start``); an orphaned scheduler, its worker
    killed, would hold the queues' scheduler locks and go on moving jobs, one more after
    every restart. Here it is tied to the worker that started it.
    """

    def start(self) -> Any:
        self._taskbridge_parent = os.getpid()
        return super().start()  # type: ignore[no-untyped-call]

    def work(self) -> None:
        die_with_parent(self._taskbridge_parent)  # in the forked scheduler process
        super().work()  # type: ignore[no-untyped-call]

    def enqueue_scheduled_jobs(self) -> None:
        if not self._scheduled_job_registries and self._acquired_locks:
            self.prepare_registries()
        for registry in self._scheduled_job_registries:
            for job_id in registry.get_jobs_to_schedule(current_timestamp()):
                with contextlib.suppress(NoSuchJobError):  # MalformedJob too: reported
                    TaskbridgeJob.fetch(job_id, connection=self.connection,
                                        serializer=self.serializer)
        super().enqueue_scheduled_jobs()  # type: ignore[no-untyped-call]


class StartsScheduler:
    """Worker mixin: the worker's scheduler is a :class:`Scheduler` (RQ builds its own inline
    in ``BaseWorker._start_scheduler``; these are its steps, with ours)."""

    def _start_scheduler(self, burst: bool = False, logging_level: str | None = "INFO",
                         date_format: str = DEFAULT_LOGGING_DATE_FORMAT,
                         log_format: str = DEFAULT_LOGGING_FORMAT) -> None:
        worker: Any = self
        scheduler: Any = Scheduler(
            worker.queues, connection=worker.connection,
            logging_level=logging_level if logging_level is not None else worker.log.level,
            date_format=date_format, log_format=log_format, serializer=worker.serializer,
        )
        worker.scheduler = scheduler
        scheduler.acquire_locks()
        if not scheduler.acquired_locks:
            return
        if not burst:
            scheduler.start()
            return
        try:
            scheduler.register_birth()
            scheduler.enqueue_scheduled_jobs()
        finally:
            scheduler.release_locks()
            scheduler.register_death()
