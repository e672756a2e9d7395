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
