"""Riding out a store outage: retry one operation until it succeeds or a deadline passes,
logging the first failure in full, then one line a retry, then how long it took to recover."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

logger = logging.getLogger("taskbridge.worker")


def ride_out(
    operation: Callable[[], T],
    *,
    what: str,
    seconds: float,
    transient: tuple[type[BaseException], ...] = (Exception,),
    longest_pause: float = 1.0,
) -> T:
    """Return ``operation()``, retrying it on ``transient`` errors for up to ``seconds``.

    Pauses start at 50 ms and double up to ``longest_pause``. The last error propagates once the
    deadline has passed; errors of other types propagate at once.
    """
    deadline = time.monotonic() + seconds
    started: float | None = None
    pause = 0.05
    while True:
        try:
            value = operation()
        except transient as exc:
            now = time.monotonic()
            if now + pause > deadline:
                logger.error("gave up %s after %.1fs: %s", what, now - (started or now), exc)
                raise
            if started is None:
                started = now
                logger.warning("the store is unavailable while %s; retrying for up to %gs",
                               what, seconds, exc_info=True)
            else:
                logger.warning("still %s: %s; next try in %.2fs", what, exc, pause)
            time.sleep(pause)
            pause = min(pause * 2, longest_pause)
            continue
        if started is not None:
            logger.warning("recovered %s after %.1fs", what, time.monotonic() - started)
        return value


class OutageLog:
    """The log of a loop that keeps retrying through an outage: the first failure with its
    traceback, then one line at most every ``every`` seconds, then how long it lasted.

    A worker's housekeeping and the scheduler retry every few seconds; logging each failure
    in full buried a 22-second Redis outage under a hundred tracebacks.
    """

    def __init__(self, what: str, *, every: float = 30.0,
                 log: logging.Logger = logger) -> None:
        self.what = what
        self.every = every
        self.log = log
        self._since: float | None = None
        self._last = 0.0
        self._failures = 0

    def failed(self, exc: BaseException) -> None:
        """Call from the ``except`` block of a failed round."""
        now = time.monotonic()
        self._failures += 1
        if self._since is None:
            self._since = self._last = now
            self.log.warning("%s failed; retrying until it works", self.what, exc_info=exc)
        elif now - self._last >= self.every:
            self._last = now
            self.log.warning("%s still failing after %.0f s (%d tries): %s: %s", self.what,
                             now - self._since, self._failures, type(exc).__name__, exc)

    def succeeded(self) -> None:
        """Call after a round that worked."""
        if self._since is not None:
            self.log.warning("%s recovered after %.1f s (%d failed tries)", self.what,
                             time.monotonic() - self._since, self._failures)
            self._since = None
            self._failures = 0
