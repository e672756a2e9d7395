"""Progress reports and heartbeats as best effort: a store outage delays them, never fails the
task, and is logged once, when it starts and when it ends."""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from typing import TYPE_CHECKING

from taskbridge._errors import StoreUnavailable

if TYPE_CHECKING:
    from taskbridge._stores.base import StateStore

logger = logging.getLogger("taskbridge.worker")

#: While the store does not answer, a task's own progress calls only keep their report; they
#: try the store again at most this often (the heartbeat tries too, and sends what is kept).
RETRY_EVERY = 1.0


def transient_errors(store: StateStore) -> tuple[type[BaseException], ...]:
    """What ``store`` raises when it cannot be reached right now (its ``transient_errors``,
    and :class:`StoreUnavailable` from a store that translates its own)."""
    return (StoreUnavailable, *getattr(store, "transient_errors", ()))


class Outage:
    """One store's outage as this process sees it, so that every attempt running here (and
    each of their heartbeats and progress reports) logs it once rather than once a call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._since: float | None = None

    @property
    def ongoing(self) -> bool:
        return self._since is not None

    def failed(self, what: str, exc: BaseException) -> None:
        """A call to the store failed with one of its transient errors."""
        with self._lock:
            if self._since is not None:
                return
            self._since = time.monotonic()
        logger.warning(
            "the store did not answer while %s (%s: %s); running tasks go on, their heartbeats "
            "and latest progress are sent once it answers", what, type(exc).__name__, exc,
        )

    def answered(self) -> None:
        """A call to the store succeeded."""
        if self._since is None:  # the common case, without the lock
            return
        with self._lock:
            since, self._since = self._since, None
        if since is not None:
            logger.warning("the store answers again after %.1fs; heartbeats and progress "
                           "resumed", time.monotonic() - since)


_outages: weakref.WeakKeyDictionary[object, Outage] = weakref.WeakKeyDictionary()
_outages_lock = threading.Lock()


def _forget_outages() -> None:
    # A forked child (RQ's work horse, a prefork child) starts with no outage seen and fresh
    # locks: one held by another thread at the fork would never be released in the child.
    global _outages_lock
    _outages_lock = threading.Lock()
    _outages.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_outages)


def outage_of(store: StateStore) -> Outage:
    """The one :class:`Outage` of ``store`` in this process."""
    with _outages_lock:
        try:
            return _outages.setdefault(store, Outage())
        except TypeError:  # a store that cannot be weakly referenced: its attempts log apart
            return Outage()


class Progress:
    """One attempt's progress reports, sent as they come and, while the store does not
    answer, kept (the latest only: each report replaces the one before) until it does.

    :meth:`report` is the task's ``context.set_progress``; the heartbeat calls :meth:`flush`
    after each beat the store answered, and the worker once more when the attempt ends. A
    report keeps the time it was made. Errors other than the store's transient ones are not
    caught: a bug still surfaces in the task.
    """

    def __init__(self, store: StateStore, id: str) -> None:
        self._store = store
        self._id = id
        self._transient = transient_errors(store)
        self._outage = outage_of(store)
        self._lock = threading.Lock()  # one send at a time, so reports land in order
        self._unsent: tuple[float, str, float] | None = None
        self._retry_at = 0.0

    @property
    def unsent(self) -> tuple[float, str] | None:
        """The latest report the store has not taken yet: ``(percent, message)``."""
        kept = self._unsent
        return None if kept is None else kept[:2]

    def report(self, percent: float, message: str) -> None:
        with self._lock:
            self._unsent = (percent, message, time.time())
            if time.monotonic() >= self._retry_at:
                self._send()

    def flush(self, *, wait: bool = True) -> bool:
        """Send the kept report, if any; True when nothing is left unsent. With ``wait=False``
        (the heartbeat thread), give up at once while the task itself is sending."""
        if self._unsent is None:
            return True
        if not self._lock.acquire(blocking=wait):
            return False
        try:
            return self._send()
        finally:
            self._lock.release()

    def _send(self) -> bool:
        if self._unsent is None:
            return True
        percent, message, at = self._unsent
        try:
            self._store.set_progress(self._id, percent, message, now=at)
        except self._transient as exc:
            self._retry_at = time.monotonic() + RETRY_EVERY
            self._outage.failed(f"recording the progress of {self._id}", exc)
            return False
        except BaseException:
            self._unsent = None  # not kept: the error reaches the task, once
            raise
        self._unsent = None
        self._retry_at = 0.0
        self._outage.answered()
        return True
