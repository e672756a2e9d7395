"""One heartbeat thread per process, beating for every attempt running in it."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

logger = logging.getLogger("taskbridge.worker")

#: Called on each beat; returns True when the attempt should be told to stop (cancel).
Beat = Callable[[], bool]

#: Seconds between tries of a beat the store did not answer: short, so that the first beat
#: after an outage lands well before crash recovery (every heartbeat interval) finds the
#: attempt silent.
RETRY_PAUSE = 0.2


class Unanswered(Exception):
    """Raised by a beat the store did not answer (the beat has logged it): try again soon."""


class _Entry:
    __slots__ = ("beat", "due", "every", "on_cancel")

    def __init__(self, beat: Beat, every: float, on_cancel: Callable[[], None]) -> None:
        self.beat = beat
        self.every = every
        self.on_cancel = on_cancel
        self.due = time.monotonic() + every


class Heartbeats:
    """Beats every registered attempt on its own schedule from a single daemon thread.

    A thread per task would cost a thread start and join on every execution (measured at
    about 40% of the worker-side overhead for no-op tasks); one thread serves them all. The
    thread is (re)started lazily, so a forked child (RQ's work horse, Celery's prefork pool)
    gets its own.
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._entries: dict[int, _Entry] = {}
        self._counter = 0
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        #: When the thread next wakes by itself (monotonic; +inf while it is not waiting).
        self._wakes_at = float("inf")

    def add(self, beat: Beat, every: float, on_cancel: Callable[[], None]) -> int:
        """Start beating; returns a token for :meth:`remove`."""
        if self._pid != os.getpid():
            self._reset()
        with self._lock:
            self._counter += 1
            entry = self._entries[self._counter] = _Entry(beat, every, on_cancel)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="taskbridge-heartbeats", daemon=True
                )
                self._thread.start()
            # Woken only when it would otherwise sleep past this beat: a worker running many
            # short tasks would switch to this thread on every task for nothing.
            if entry.due < self._wakes_at:
                self._wake.notify()
            return self._counter

    def remove(self, token: int) -> None:
        with self._lock:
            self._entries.pop(token, None)

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._entries:
                    self._sleep(30.0)
                    if not self._entries:
                        continue
                now = time.monotonic()
                due = [e for e in self._entries.values() if e.due <= now]
                for entry in due:
                    entry.due = now + entry.every
            for entry in due:
                try:
                    if entry.beat():
                        entry.on_cancel()
                except Unanswered:
                    with self._lock:
                        entry.due = time.monotonic() + min(entry.every, RETRY_PAUSE)
                except Exception:  # a bug in a beat must not stop the beating
                    logger.warning("heartbeat failed", exc_info=True)
            with self._lock:
                if self._entries:
                    delay = min(e.due for e in self._entries.values()) - time.monotonic()
                    if delay > 0:
                        self._sleep(delay)

    def _sleep(self, seconds: float) -> None:
        """Wait (the lock held) until ``seconds`` pass or :meth:`add` needs an earlier beat."""
        self._wakes_at = time.monotonic() + seconds
        try:
            self._wake.wait(timeout=seconds)
        finally:
            self._wakes_at = float("inf")


heartbeats = Heartbeats()
