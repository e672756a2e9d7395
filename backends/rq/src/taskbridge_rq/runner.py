"""What an RQ worker runs: the one runner function, the job class that refuses anything else,
and the report of jobs it refused."""

from __future__ import annotations

import logging
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rq.exceptions import DeserializationError
from rq.job import Job
from taskbridge import Envelope
from taskbridge.plugin import WAITING, execute, reject

from taskbridge_rq.jobs import RUNNER, envelope_id_of

if TYPE_CHECKING:
    from taskbridge import Bridge

logger = logging.getLogger("taskbridge.rq")

#: RQ's scheduler releases jobs on whole seconds; at most this early, the runner waits.
_MAX_EARLY = 1.0
#: How long a dropped job waits for an unreachable store. Below RQ's horse monitoring interval
#: (30 s), after which a worker that cannot reach Redis quits.
_STORE_WAIT = 25.0
_STORE_PAUSE = 0.5

_bridge: Bridge | None = None
_worker: str | None = None


class RejectedJob(Exception):
    """A job in a taskbridge queue that taskbridge will not run (not ours, or malformed)."""


def bind(bridge: Bridge, worker: str) -> None:
    """Make ``bridge`` the one this process's jobs run with (set before RQ forks horses)."""
    global _bridge, _worker
    _bridge, _worker = bridge, worker


def run(envelope: Any) -> None:
    """The function every taskbridge RQ job names: run one attempt through the core.

    Returns nothing: the result is in taskbridge's store, and RQ keeps no copy.
    """
    if _bridge is None:
        raise RejectedJob(
            "no taskbridge bridge in this RQ worker; run it with 'taskbridge worker --url rq+redis://...'"
        )
    try:
        parsed = Envelope.from_dict(envelope)
    except ValueError as exc:
        raise RejectedJob(f"its envelope is malformed: {exc}") from exc
    early = (parsed.run_at or 0.0) - time.time()
    if early > 0:
        time.sleep(min(early, _MAX_EARLY))
    execute(_bridge, parsed, worker=_worker)


def resend_if_never_started(job: Job) -> None:
    """After RQ gave up on ``job``: send its envelope again if its attempt never started.

    Between taking a job off its queue and the core starting the attempt, RQ writes to Redis
    several times (in the worker and in the work horse); when Redis goes away in between, RQ
    drops the job and its record would wait forever. Waits up to ``_STORE_WAIT`` seconds for
    the store to answer. Sending twice is harmless: the store's start() lets an attempt
    through once.
    """
    if _bridge is None or not isinstance(job, TaskbridgeJob) or job.resend_checked:
        return
    job.resend_checked = True
    try:
        if job.func_name != RUNNER:
            return
        envelope = Envelope.from_dict(job.args[0])
    except Exception:  # not a readable taskbridge job: nothing to send again
        return
    deadline = time.monotonic() + _STORE_WAIT
    while True:
        try:
            record = _bridge.store.get_many([envelope.id])[0]
            if record and record.status in WAITING and record.attempts < envelope.attempt:
                logger.warning("RQ dropped job %s before %s [%s] attempt %d started; sending "
                               "it again", job.id, envelope.task_name, envelope.id,
                               envelope.attempt)
                _bridge.send([envelope])
            return
        except Exception:
            if time.monotonic() > deadline:
                logger.error("cannot tell whether %s [%s] attempt %d ever started; it may never "
                             "run", envelope.task_name, envelope.id, envelope.attempt,
                             exc_info=True)
                return
            time.sleep(_STORE_PAUSE)


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
        super().restore(raw_data)
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


def report_failure(
    job: Job,
    kind: type[BaseException],
    error: BaseException,
    traceback: TracebackType | None,
) -> bool:
    """RQ exception handler: log a job RQ saw fail and fail its taskbridge record if any.

    Task failures never get here (the core records them and the runner returns); what does is
    a job that could not be decoded or was refused, or a broken store. RQ then files the job in
    its FailedJobRegistry. Returns True so RQ's own handling carries on.
    """
    refused = isinstance(error, RejectedJob | DeserializationError)
    reason = (
        "it is not valid JSON for RQ's JSONSerializer (pickled?)"
        if isinstance(error, DeserializationError) else str(error)
    )
    logger.error(
        "RQ job %s on queue %s was not run: %s; it is in RQ's FailedJobRegistry for %s",
        job.id, job.origin, reason, job.origin,
    )
    if refused and _bridge is not None:
        _fail_record(_bridge, envelope_id_of(job.id), f"RQ job {job.id} was not run: {reason}")
    return True


def _fail_record(bridge: Bridge, envelope_id: str, message: str) -> None:
    """Fail the waiting execution a refused job stood for."""
    reject(bridge, envelope_id, "taskbridge_rq.RejectedJob", message, worker=_worker or None)
