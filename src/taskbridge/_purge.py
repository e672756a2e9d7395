"""Purging in the background: how every worker keeps its store from growing without bound
(CONTRACT §13), in small batches so that no store operation holds a lock for long."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from taskbridge._bridge import Bridge

logger = logging.getLogger("taskbridge.worker")

#: Seconds between a worker's purges (the contract asks for at least one a minute); shorter
#: ttls purge as often as they are long.
PURGE_EVERY = 30.0
#: Records deleted by one store operation.
PURGE_BATCH = 200
#: Seconds one purge may spend before it leaves the rest to the worker's next round.
PURGE_BUDGET = 1.0


class Purger:
    """Deletes records past ``result_ttl`` (FAILED ones past ``failed_ttl``) when due.

    A worker calls :meth:`run_due` on every housekeeping round; it purges every ``every``
    seconds (by default ``PURGE_EVERY``, or the shortest ttl when shorter). A backlog larger
    than one round's ``budget`` is worked off over the following rounds instead of waiting
    ``every`` seconds.
    """

    def __init__(
        self,
        bridge: Bridge,
        *,
        every: float | None = None,
        batch: int = PURGE_BATCH,
        budget: float = PURGE_BUDGET,
    ) -> None:
        self.bridge = bridge
        settings = bridge.settings
        ttls = (settings.result_ttl, settings.failed_ttl or settings.result_ttl)
        self.every = min(PURGE_EVERY, *ttls) if every is None else every
        self.batch = batch
        self.budget = budget
        self._next = 0.0

    def run_due(self) -> int:
        """Purge if due; returns how many records were deleted."""
        started = time.monotonic()
        if started < self._next:
            return 0
        settings, store = self.bridge.settings, self.bridge.store
        deleted = 0
        while True:
            n = store.purge(now=time.time(), result_ttl=settings.result_ttl,
                            failed_ttl=settings.failed_ttl, limit=self.batch)
            deleted += n
            if n < self.batch:
                self._next = time.monotonic() + self.every
                break
            if time.monotonic() - started >= self.budget:
                self._next = 0.0  # more is due: carry on next round
                break
        if deleted:
            logger.info("purged %d finished execution(s) past their ttl", deleted)
        return deleted
