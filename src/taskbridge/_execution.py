"""The one worker-side execution path: every backend hands each envelope to :func:`execute`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import attrs

from taskbridge import _chains, _json, _registry
from taskbridge._envelope import Envelope
from taskbridge._errors import (
    ArgumentsNotSerializable,
    Retry,
    TaskCanceled,
    TaskNotRegistered,
    TaskTimeout,
    WorkerLost,
)
from taskbridge._heartbeat import RETRY_PAUSE, Unanswered, heartbeats
from taskbridge._outage import ride_out
from taskbridge._progress import Progress, outage_of, transient_errors
from taskbridge._record import ErrorInfo, Record, type_name
from taskbridge._status import WAITING, Status
from taskbridge._task import TaskContext
from taskbridge._usage import UNMEASURED, Usage, measured

if TYPE_CHECKING:
    from taskbridge._bridge import Bridge
    from taskbridge._task import Task

logger = logging.getLogger("taskbridge.worker")

WORKER_LOST = "worker lost: no heartbeat from the worker running this task"


def worker_name() -> str:
    """``host:pid:thread`` — enough to find the process at 3 a.m."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def execute(bridge: Bridge, envelope: Envelope, *, worker: str | None = None) -> Record | None:
    """Run one attempt of ``envelope`` with all of taskbridge's semantics.

    Returns the record as this attempt left it, or ``None`` when the attempt did not run (a
    duplicate delivery, a canceled or already finished task). Never raises for a task's own
    failure; only a broken store propagates, so the engine can redeliver.
    """
    store = bridge.store
    worker = worker or worker_name()
    now = time.time()
    if _chains.canceled_before_start(bridge, envelope):
        return None
    record = store.start(envelope.id, envelope.attempt, worker=worker, now=now)
    if record is None:
        logger.info("not running %s [%s] attempt %d: it is not waiting to run (duplicate "
                    "delivery, canceled or finished)", envelope.task_name, envelope.id,
                    envelope.attempt)
        return None
    _chains.step_started(bridge, envelope, worker=worker, now=now)
    bridge.hooks.taskbridge_started(record=record)
    try:
        task = _registry.lookup(envelope.task_name)
    except TaskNotRegistered as exc:
        return _finish_failed(bridge, envelope, ErrorInfo.from_exception(exc))
    progress = Progress(store, envelope.id)
    context = TaskContext(
        envelope.id, envelope.task_name, envelope.attempt, envelope.max_attempts, progress.report
    )
    failure: BaseException | None = None
    try:
        with _heartbeat(bridge, envelope, context, progress):
            with measured() as meter:
                try:
                    with _attempt_contexts(bridge, envelope):
                        value = _run(task, envelope, context)
                    _check_result(bridge, value)
                except BaseException as exc:
                    if isinstance(exc, KeyboardInterrupt | SystemExit):
                        raise  # the worker is going down; crash recovery takes over
                    failure = exc
            progress.flush()  # before the outcome, so that the record it returns has it
            if failure is not None:
                return _handle_failure(bridge, task, envelope, context, failure, meter.usage)
        return _succeeded(bridge, envelope, value, meter.usage)
    finally:
        if not progress.flush():  # tried again: the store may be back after the outcome
            logger.warning("the last progress of %s [%s] was not recorded: the store did not "
                           "answer", envelope.task_name, envelope.id)


def _succeeded(bridge: Bridge, envelope: Envelope, value: Any, usage: Usage) -> Record | None:
    finished = _persist(
        bridge, bridge.store.finish, envelope.id, envelope.attempt, Status.SUCCEEDED,
        now=time.time(), idempotency_ttl=bridge.settings.idempotency_ttl, value=value,
        cpu_time=usage.cpu_time, peak_memory=usage.peak_memory,
    )
    if finished is None:
        return _lost_race(envelope)
    bridge.hooks.taskbridge_succeeded(record=finished)
    _chains.step_succeeded(bridge, envelope, value)
    return finished


@contextlib.contextmanager
def _attempt_contexts(bridge: Bridge, envelope: Envelope) -> Iterator[None]:
    """Enter what plugins run each attempt inside (``taskbridge_attempt_context``)."""
    with contextlib.ExitStack() as stack:
        for manager in bridge.hooks.taskbridge_attempt_context(bridge=bridge, envelope=envelope):
            stack.enter_context(manager)
        yield


def _check_result(bridge: Bridge, value: Any) -> None:
    """A result must be JSON (CONTRACT §3) and within the payload limit."""
    _json.check_json(value, "result")
    _json.check_size(
        value, bridge.settings.max_payload, "result",
        "store a large result elsewhere (a file, object storage, a table) and return where",
    )


def _run(task: Task[Any, Any], envelope: Envelope, context: TaskContext) -> Any:
    args = (context, *envelope.args) if task.context else envelope.args
    if task.is_async:
        coroutine = task.func(*args, **envelope.kwargs)
        if envelope.timeout is not None:
            coroutine = asyncio.wait_for(coroutine, envelope.timeout)
        try:
            return asyncio.run(coroutine)
        except TimeoutError as exc:
            if envelope.timeout is None:
                raise
            raise TaskTimeout(f"attempt ran longer than {envelope.timeout:g}s") from exc
    with _alarm(envelope.timeout):
        return task.func(*args, **envelope.kwargs)


@contextlib.contextmanager
def _alarm(timeout: float | None) -> Iterator[None]:
    """Raise TaskTimeout in the running function after ``timeout`` seconds.

    Uses SIGALRM, so it needs the main thread of a Unix process (process-based workers and
    in-process runs from a main thread); backends whose workers run tasks elsewhere either
    enforce timeouts natively or declare ``timeouts=False``.
    """
    usable = (
        timeout is not None
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise TaskTimeout(f"attempt ran longer than {timeout:g}s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, timeout)  # type: ignore[arg-type]
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _heartbeat(
    bridge: Bridge, envelope: Envelope, context: TaskContext, progress: Progress
) -> Iterator[None]:
    """Beat while the task runs, relay cancel requests to its context, and send the progress
    an outage kept back once the store answers.

    Beats at least every second, whatever ``heartbeat_interval`` is, so that a cancel request
    reaches the task promptly. A beat the store does not answer is logged once an outage (not
    once a beat) and tried again soon; the task runs on.
    """
    transient, outage = transient_errors(bridge.store), outage_of(bridge.store)

    def beat() -> bool:
        try:
            flag = bridge.store.heartbeat(envelope.id, envelope.attempt, now=time.time())
            canceled = bool(flag) or _chains.cancel_requested(bridge, envelope)
        except transient as exc:
            outage.failed(f"sending the heartbeat of {envelope.id}", exc)
            raise Unanswered from exc
        outage.answered()
        progress.flush(wait=False)
        return canceled

    every = min(bridge.settings.heartbeat_interval, 1.0)
    token = heartbeats.add(beat, every, context._canceled.set)
    try:
        yield
    finally:
        heartbeats.remove(token)


def _handle_failure(
    bridge: Bridge, task: Task[Any, Any], envelope: Envelope, context: TaskContext,
    exc: BaseException, usage: Usage,
) -> Record | None:
    error = ErrorInfo.from_exception(exc)
    store = bridge.store
    if isinstance(exc, TaskCanceled) or (context.canceled and not isinstance(exc, Retry)):
        finished = _persist(
            bridge, store.finish, envelope.id, envelope.attempt, Status.CANCELED, now=time.time(),
            idempotency_ttl=bridge.settings.idempotency_ttl, error=error,
            cpu_time=usage.cpu_time, peak_memory=usage.peak_memory,
        )
        if finished is None:
            return _lost_race(envelope)
        bridge.hooks.taskbridge_canceled(record=finished)
        _chains.end(bridge, envelope, Status.CANCELED, error)
        return finished
    retryable = not isinstance(exc, ArgumentsNotSerializable | TaskNotRegistered)
    if retryable and task.retry.should_retry(exc, envelope.attempt):
        delay = exc.delay if isinstance(exc, Retry) and exc.delay is not None else (
            task.retry.delay(envelope.attempt)
        )
        return schedule_retry(bridge, envelope, error, delay, usage)
    return _finish_failed(bridge, envelope, error, usage)


def schedule_retry(
    bridge: Bridge, envelope: Envelope, error: ErrorInfo, delay: float, usage: Usage = UNMEASURED
) -> Record | None:
    """Move RUNNING attempt n to RETRYING and send attempt n + 1 to run after ``delay``."""
    now = time.time()
    following = attrs.evolve(envelope, attempt=envelope.attempt + 1, run_at=now + delay)
    finished = _persist(
        bridge, bridge.store.finish, envelope.id, envelope.attempt, Status.RETRYING, now=now,
        idempotency_ttl=bridge.settings.idempotency_ttl, error=error,
        run_at=following.run_at, envelope=following,
        cpu_time=usage.cpu_time, peak_memory=usage.peak_memory,
    )
    if finished is None:
        return _lost_race(envelope)
    bridge.send([following])
    bridge.hooks.taskbridge_retrying(record=finished)
    return finished


def _finish_failed(
    bridge: Bridge, envelope: Envelope, error: ErrorInfo, usage: Usage = UNMEASURED
) -> Record | None:
    finished = _persist(
        bridge, bridge.store.finish, envelope.id, envelope.attempt, Status.FAILED, now=time.time(),
        idempotency_ttl=bridge.settings.idempotency_ttl, error=error,
        cpu_time=usage.cpu_time, peak_memory=usage.peak_memory,
    )
    if finished is None:
        return _lost_race(envelope)
    bridge.hooks.taskbridge_failed(record=finished)
    _chains.end(bridge, envelope, Status.FAILED, error, failed_step=envelope)
    return finished


def reject(
    bridge: Bridge, record_id: str, error_type: str, message: str, *, worker: str | None = None
) -> Record | None:
    """A message for ``record_id`` arrived that will never run (unreadable, refused content
    type, forged): end its execution FAILED with that reason, as a failed attempt.

    Only an execution still waiting to run is touched: a running or finished one belongs to a
    legitimate delivery. Returns the FAILED record, or ``None`` when nothing was changed.
    Backends call this instead of writing statuses themselves.
    """
    record = bridge.store.get_many([record_id])[0]
    if record is None or record.status not in WAITING:
        return None
    attempt = record.attempts + 1
    if bridge.store.start(record_id, attempt, worker=worker or worker_name(),
                          now=time.time()) is None:
        return None
    envelope = record.envelope or Envelope(record_id, record.task_name, queue=record.queue)
    return _finish_failed(
        bridge, attrs.evolve(envelope, attempt=attempt), ErrorInfo(error_type, message)
    )


#: How long a worker keeps trying to record an attempt's outcome while the store is down.
PERSIST_FOR = 30.0


def _persist(bridge: Bridge, write: Callable[..., Record | None], *args: Any,
             **kwargs: Any) -> Record | None:
    """Record an attempt's outcome, riding out a store outage of up to ``PERSIST_FOR`` s.

    The task has run: losing its outcome to a Redis restart would leave crash recovery to
    declare it "worker lost" and run it again. Only the store's declared
    ``transient_errors`` are retried; the write is idempotent (guarded by the attempt).
    Retries come faster than crash recovery runs, so the real outcome lands before a reaper
    that saw this attempt's heartbeats stop during the outage declares it lost.
    """
    return ride_out(
        lambda: write(*args, **kwargs),
        what=f"recording the outcome of {args[0] if args else '?'}",
        seconds=PERSIST_FOR,
        transient=getattr(bridge.store, "transient_errors", ()),
        longest_pause=min(1.0, bridge.settings.heartbeat_interval / 4),
    )


def _lost_race(envelope: Envelope) -> Record | None:
    logger.warning(
        "%s [%s] attempt %d finished after it was canceled or declared lost; result dropped",
        envelope.task_name, envelope.id, envelope.attempt,
    )
    return None


# -- crash recovery ------------------------------------------------------------------------------


#: How long crash recovery waits before it looks again at the attempts it found silent. A
#: store outage silences every heartbeat; once the store answers, each running attempt's
#: next beat comes within ``RETRY_PAUSE``, and a worker whose own housekeeping got there first
#: must not take those attempts for lost (they would run twice, or end FAILED "worker lost").
RECHECK_AFTER = 2.5 * RETRY_PAUSE


def recover_lost(bridge: Bridge, *, now: float | None = None) -> list[Record]:
    """Retry or fail RUNNING executions whose worker has been silent for two heartbeats, and
    still is a moment later (:data:`RECHECK_AFTER`)."""
    now = time.time() if now is None else now
    silent_since = now - 2 * bridge.settings.heartbeat_interval
    candidates = [record for record in bridge.store.stale(before=silent_since)
                  if not _chains.is_chain(record) and record.envelope is not None]
    handled: list[Record] = []
    for record in _still_silent(bridge, candidates):
        if record.envelope is None:
            continue
        current = attrs.evolve(record.envelope, attempt=record.attempts)
        error = ErrorInfo(type_name(WorkerLost), WORKER_LOST)
        if record.attempts < record.max_attempts:
            outcome = schedule_retry(bridge, current, error, 0.0)
        else:
            outcome = _finish_failed(bridge, current, error)
        if outcome is not None:
            logger.warning("recovered %s [%s] from a lost worker: now %s",
                           record.task_name, record.id, outcome.status.value)
            handled.append(outcome)
    return handled


def _still_silent(bridge: Bridge, silent: list[Record]) -> list[Record]:
    """Those of ``silent`` that neither beat nor changed after :data:`RECHECK_AFTER`."""
    if not silent:
        return []
    time.sleep(RECHECK_AFTER)
    again = bridge.store.get_many([record.id for record in silent])
    return [
        record for record, now in zip(silent, again, strict=True)
        if now is not None and now.status is Status.RUNNING and now.attempts == record.attempts
        and now.heartbeat_at == record.heartbeat_at
    ]
