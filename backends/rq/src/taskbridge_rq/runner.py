"""What an RQ worker runs: the one runner function, the job class that refuses anything else,
and the report of jobs it refused."""

from __future__ import annotations

import logging
import time
from types import TracebackType
from typing import Any

from rq.exceptions import DeserializationError, NoSuchJobError
from rq.job import Job
from taskbridge import Status
from taskbridge.plugin import AttemptFailed, Envelope, current_worker

from taskbridge_rq.jobs import RUNNER, envelope_id_of

logger = logging.getLogger("taskbridge.rq")

#: RQ's scheduler releases jobs on whole seconds; at most this early, the runner waits.
_MAX_EARLY = 1.0


class RejectedJob(Exception):
    """A job in a taskbridge queue that taskbridge will not run (not ours, or malformed)."""


class MalformedJob(NoSuchJobError):
    """A job hash RQ cannot read (a bad status, date, timeout or JSON field). A kind of
    ``NoSuchJobError``, so every part of RQ that meets one skips it as it skips a job that is
    gone, instead of the worker quitting."""


def run(envelope: Any) -> None:
    """The function every taskbridge RQ job names: run one attempt through the core.

    Returns nothing: the result is in taskbridge's store, and RQ keeps no copy. An attempt
    that ended FAILED raises :class:`AttemptFailed`, so RQ files the job in its
    FailedJobRegistry (``rq info``, rq-dashboard); RQ never retries it (the job has no
    ``Retry``). A failed attempt with a retry to come finishes: the retry is a job of its own.
    """
    worker = current_worker()
    try:
        parsed = Envelope.from_dict(envelope)
    except ValueError as exc:
        raise RejectedJob(f"its envelope is malformed: {exc}") from exc
    early = (parsed.run_at or 0.0) - time.time()
    if early > 0:
        time.sleep(min(early, _MAX_EARLY))
    record = worker.execute(parsed, name=worker.id)
    if record is not None and record.status is Status.FAILED:
        raise AttemptFailed.of(record)


def resend_if_never_started(job: Job) -> None:
    """After RQ gave up on ``job``: deliver its envelope again if its attempt never started.

    Between taking a job off its queue and the core starting the attempt, RQ writes to Redis
    several times (in the worker and in the work horse); when Redis goes away in between, RQ
    drops the job and its record would wait forever.
    """
    if not isinstance(job, TaskbridgeJob) or job.resend_checked:
        return
    job.resend_checked = True
    try:
        if job.func_name != RUNNER:
            return
        envelope = Envelope.from_dict(job.args[0])
    except Exception:  # not a readable taskbridge job: nothing to send again
        return
    current_worker().redeliver(envelope)


class TaskbridgeJob(Job):
    """RQ's job, made safe to read from a shared Redis: it runs only :func:`run`.

    A job's hash is data anyone with Redis access can write. Its function, callbacks and
    webhooks name code to import or URLs to call, so all of them are ignored except the runner.
    """

    #: Set once :func:`resend_if_never_started` looked at this job (the worker and the work
    #: horse may both see it fail).
    resend_checked = False

    def restore(self, raw_data: Any) -> None:
        # RQ silently skips a hash without 'data'; an empty one fails to decode and is reported.
        if raw_data and b"data" not in raw_data and "data" not in raw_data:
            raw_data = {**raw_data, b"data": b""}
        try:
            super().restore(raw_data)
        except NoSuchJobError:
            raise
        except Exception as exc:
            # RQ parses dates, the status, timeouts, TTLs and JSON fields as it reads a job,
            # before any of our code runs; one bad field would make the worker quit.
            malformed = MalformedJob(
                f"RQ job {self.id} cannot be read: {type(exc).__name__}: {exc}")
            report_malformed(self, raw_data, malformed)
            raise malformed from exc
        self._success_callback_name = None
        self._failure_callback_name = None
        self._stopped_callback_name = None
        self.webhooks = []

    def _execute(self) -> Any:
        if self.func_name != RUNNER or self.instance is not None:
            raise RejectedJob(f"it calls {self.func_name!r}; taskbridge workers run only {RUNNER}")
        if len(self.args) != 1 or self.kwargs:
            raise RejectedJob(f"{RUNNER} takes exactly one envelope argument")
        run(self.args[0])
        return None


def report_malformed(job: Job, raw_data: Any, error: MalformedJob) -> None:
    """In a worker: log a job hash RQ cannot read, fail the waiting execution its id names, and
    delete the hash (no RQ tool can read it; the log keeps its fields), so RQ meets it once.
    Elsewhere (a producer looking a job up) it is only skipped."""
    try:
        worker = current_worker()
    except RuntimeError:
        return
    fields = {_text(k): _text(v)[:200] for k, v in dict(raw_data or {}).items() if k != b"data"}
    worker.reject(envelope_id_of(job.id), "taskbridge_rq.MalformedJob",
                  f"{error}; the job was not run")
    try:
        job.connection.delete(job.key)
    except Exception:  # the log says it all; RQ skips it anyway
        logger.warning("could not delete the malformed job hash %s", job.key, exc_info=True)
    logger.error("%s; it was not run and its hash is deleted. Its fields: %s", error, fields)


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def report_failure(
    job: Job,
    kind: type[BaseException],
    error: BaseException,
    traceback: TracebackType | None,
) -> bool:
    """RQ exception handler: log a job RQ saw fail and fail its taskbridge record if any.

    A task's failed attempt gets here as :class:`AttemptFailed` and is left to RQ; what else
    does is a job that could not be decoded or was refused, or a broken store. RQ then files
    the job in its FailedJobRegistry. Returns True so RQ's own handling carries on.
    """
    if isinstance(error, AttemptFailed):
        return True  # a task that failed: the core recorded it; RQ files it as failed
    refused = isinstance(error, RejectedJob | DeserializationError)
    reason = (
        "it is not valid JSON for RQ's JSONSerializer (pickled?)"
        if isinstance(error, DeserializationError) else str(error)
    )
    if refused:  # recorded before it is logged: a log line means the store says so too
        current_worker().reject(envelope_id_of(job.id), "taskbridge_rq.RejectedJob",
                                f"RQ job {job.id} was not run: {reason}")
    logger.error(
        "RQ job %s on queue %s was not run: %s; it is in RQ's FailedJobRegistry for %s",
        job.id, job.origin, reason, job.origin,
    )
    return True
