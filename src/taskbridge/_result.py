"""Result handles: a task execution as seen from any process that knows its id."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import TYPE_CHECKING, Any

from taskbridge._errors import TaskCanceled, TaskFailed
from taskbridge._record import Attempt, ErrorInfo, ProgressEntry, Record
from taskbridge._status import Status
from taskbridge._unavailable import translated

if TYPE_CHECKING:
    from taskbridge._bridge import Bridge

__all__ = ["Attempt", "ErrorInfo", "ProgressEntry", "Result"]

# Polling starts fast (most tasks are short; the benchmark round trip dropped ~3x going from
# 5 ms to 0.5 ms) and backs off so a long wait costs a read every 100 ms at most.
_FIRST_POLL = 0.0005
_MAX_POLL = 0.1
#: Longest wait for a pushed completion before the record is read again, and how much longer
#: a watch (``get_and_watch``) lasts than that wait.
_PUSH_WAIT = 1.0
_WATCH_MARGIN = 1.0


def _utc(timestamp: float | None) -> dt.datetime | None:
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.UTC)


class Result:
    """A handle on one execution. Its fields are the snapshot last loaded; ``refresh()``
    reloads them in place."""

    def __init__(self, bridge: Bridge, record: Record, *, deduplicated: bool = False) -> None:
        self._bridge = bridge
        self._record = record
        self._deduplicated = deduplicated

    def __repr__(self) -> str:
        return f"<Result {self.task_name} [{self.id}] {self.status.value}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Result) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def record(self) -> Record:
        """The frozen snapshot behind this handle."""
        return self._record

    @property
    def bridge(self) -> Bridge:
        return self._bridge

    @property
    def id(self) -> str:
        """Opaque unique id."""
        return self._record.id

    @property
    def task_name(self) -> str:
        return self._record.task_name

    @property
    def queue(self) -> str:
        return self._record.queue

    @property
    def status(self) -> Status:
        return self._record.status

    @property
    def value(self) -> Any:
        """The return value once SUCCEEDED."""
        return self._record.value

    @property
    def error(self) -> ErrorInfo | None:
        """What went wrong, once FAILED (and of the last failed attempt while RETRYING)."""
        return self._record.error

    @property
    def attempts(self) -> int:
        """Attempts started so far."""
        return self._record.attempts

    @property
    def max_attempts(self) -> int:
        return self._record.max_attempts

    @property
    def progress(self) -> tuple[float, str] | None:
        """``(percent, message)`` as last set by the task."""
        return self._record.progress

    @property
    def progress_log(self) -> tuple[ProgressEntry, ...]:
        """The task's latest progress reports (at most 50), oldest first, each with its time
        (``entry.at``, a Unix timestamp)."""
        return self._record.progress_log

    @property
    def attempt_history(self) -> tuple[Attempt, ...]:
        """One entry per attempt (the latest 100), oldest first: worker, start and end (Unix
        timestamps), outcome, error, CPU time and peak memory where measured."""
        return self._record.attempt_history

    @property
    def args(self) -> list[Any]:
        return list(self._record.args)

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self._record.kwargs)

    @property
    def priority(self) -> int:
        return self._record.priority

    @property
    def idempotency_key(self) -> str | None:
        return self._record.idempotency_key

    @property
    def retried_as(self) -> str | None:
        """The id of the execution ``bridge.retry`` made of this one."""
        return self._record.retried_as

    @property
    def discarded_at(self) -> dt.datetime | None:
        """When ``bridge.discard`` took this FAILED execution off the dead-letter list."""
        return _utc(self._record.discarded_at)

    @property
    def enqueued_at(self) -> dt.datetime | None:
        return _utc(self._record.enqueued_at)

    @property
    def run_at(self) -> dt.datetime | None:
        """When a delayed task may start."""
        return _utc(self._record.run_at)

    @property
    def started_at(self) -> dt.datetime | None:
        """When the last attempt started."""
        return _utc(self._record.started_at)

    @property
    def finished_at(self) -> dt.datetime | None:
        return _utc(self._record.finished_at)

    @property
    def deduplicated(self) -> bool:
        """True when the enqueue that made this handle matched a live idempotency key and sent
        nothing: the handle is the existing execution's."""
        return self._deduplicated

    @property
    def duration(self) -> dt.timedelta | None:
        """Time from the last attempt's start to the end, once finished."""
        start, end = self._record.started_at, self._record.finished_at
        if start is None or end is None:
            return None
        return dt.timedelta(seconds=end - start)

    def _adopt(self, stored: Record) -> None:
        """Become the handle of what a deferred enqueue stored: ``stored`` is this handle's own
        record, or the one holding its idempotency key (then ``deduplicated``)."""
        self._deduplicated = stored.id != self._record.id
        self._record = stored

    def refresh(self) -> Result:
        """Reload the record in place; returns ``self`` (``r.refresh().status``)."""
        with translated(self._bridge, f"read execution {self._record.id}"):
            self._record = self._bridge.store.get(self._record.id)
        return self

    def _outcome(self) -> Any:
        status = self._record.status
        if status is Status.SUCCEEDED:
            return self._record.value
        if status is Status.FAILED:
            raise TaskFailed(self, self._record.error)
        raise TaskCanceled(self)

    def _poll(self, deadline: float | None, step: float) -> tuple[bool, float]:
        watch = getattr(self._bridge.store, "get_and_watch", None) if self._pushed() else None
        if watch is None:
            self.refresh()
        else:  # the read also asks for the wake-up ``_pause`` waits on
            with translated(self._bridge, f"read execution {self._record.id}"):
                self._record = watch(self._record.id, _PUSH_WAIT + _WATCH_MARGIN)
        if self._record.status.is_final:
            return True, step
        if deadline is not None and time.monotonic() >= deadline:
            raise TimeoutError(
                f"task {self.task_name} [{self.id}] is still {self.status.value} after waiting"
            )
        return False, min(step * 1.5, _MAX_POLL)

    def _pause(self, deadline: float | None, step: float) -> bool:
        """Wait before the next read: on a store that can push completion (Redis), until the
        task ends (at most a second, then re-read); elsewhere ``step`` seconds. True when the
        store handed over the final record with the wake-up (nothing left to read)."""
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not self._pushed():
            time.sleep(step if remaining is None else min(step, remaining))
            return False
        with translated(self._bridge, f"wait for execution {self._record.id}"):
            final = self._bridge.store.wait_for_final(  # type: ignore[attr-defined]
                self._record.id, _PUSH_WAIT if remaining is None else min(_PUSH_WAIT, remaining))
        if isinstance(final, Record) and final.status.is_final:
            self._record = final
            return True
        return False

    def _pushed(self) -> bool:
        """Whether the store pushes completion (``wait_for_final``) to this waiter."""
        return (hasattr(self._bridge.store, "wait_for_final")
                and not self._bridge.capabilities.in_process)

    def wait(self, timeout: float | None = None) -> Any:
        """Block until final; return the value or raise ``TaskFailed`` / ``TaskCanceled`` /
        ``TimeoutError``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        step = _FIRST_POLL
        while True:
            self._bridge.drive()
            done, step = self._poll(deadline, step)
            if done or self._pause(deadline, step):
                return self._outcome()

    async def wait_async(self, timeout: float | None = None) -> Any:
        """``wait`` for async code: the reads and waits run off the event loop."""
        deadline = None if timeout is None else time.monotonic() + timeout
        step = _FIRST_POLL
        while True:
            await asyncio.to_thread(self._bridge.drive)
            done, step = await asyncio.to_thread(self._poll, deadline, step)
            if done or await asyncio.to_thread(self._pause, deadline, step):
                return self._outcome()

    def cancel(self) -> Result:
        """Cancel: PENDING/RETRYING never run; a RUNNING task sees ``context.canceled``."""
        self._record = self._bridge.cancel(self._record.id)._record
        return self
