"""The scheduler loop behind ``taskbridge scheduler``: enqueue each due tick exactly once.

Several schedulers may run at once. Each tick is enqueued with the idempotency key
``schedule:<name>:<tick>``, so schedulers racing on one tick produce one execution. That key is
held while the tick waits, runs or has succeeded, but a FAILED tick releases it, and a slower
scheduler could then send the tick again. So before sending, a scheduler *claims* the tick: it
takes the store's lease ``schedule-claim:<name>:<tick>`` (atomic and expiring, bookkeeping that
is never an execution) for ``TAKEOVER_AFTER`` seconds. Only the scheduler holding the lease
sends the tick, then renews its lease for ``HOLD_SENT_TICK`` seconds, whatever becomes of the
tick. A scheduler that dies before sending lets its lease expire, and another one claims the
tick after ``TAKEOVER_AFTER`` seconds. Schedulers also keep a per-schedule high-water mark (the
last tick enqueued) in the store and never consider a tick at or below it.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import logging
import math
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import attrs

from taskbridge._envelope import new_id
from taskbridge._errors import TaskBridgeError, TaskNotRegistered
from taskbridge._outage import OutageLog
from taskbridge._result import Result
from taskbridge._schedules.calls import tick_arguments
from taskbridge._schedules.entry import ScheduleEntry
from taskbridge._schedules.health import Presence
from taskbridge._schedules.manager import ScheduleManager

if TYPE_CHECKING:
    from taskbridge._bridge import Bridge

logger = logging.getLogger("taskbridge.scheduler")

#: Seconds a scheduler's claim on a tick lasts before it sends it; after that, the scheduler
#: is taken to be dead and another one may claim the tick.
TAKEOVER_AFTER = 10.0
#: Seconds a claim is kept once its tick is sent: far longer than any scheduler takes between
#: reading the high-water mark and claiming, so a tick that FAILED at once is not sent again.
HOLD_SENT_TICK = 3600.0
#: With ``catch_up``, at most this many missed ticks (the latest ones) run after downtime.
MAX_CATCH_UP = 100
#: Look-back windows for the latest due ticks: the smallest that holds enough ticks is used,
#: so a long downtime never means walking every tick since.
_WINDOWS = (60.0, 3600.0, 86400.0, 32 * 86400.0, 400 * 86400.0, math.inf)


def tick_key(name: str, tick: int) -> str:
    """The idempotency key of one tick of schedule ``name``."""
    return f"schedule:{name}:{tick}"


def claim_key(name: str, tick: int) -> str:
    """The idempotency key of the claim a scheduler takes before sending a tick."""
    return f"schedule-claim:{name}:{tick}"


@attrs.frozen
class Enqueued:
    """One tick a scheduler sent (or found already sent by another: ``result.deduplicated``)."""

    schedule: str
    tick: int
    result: Result


def _ticks(entry: ScheduleEntry, start: float, now: float) -> Iterator[int]:
    moment = entry.schedule.next_after(dt.datetime.fromtimestamp(start, dt.UTC))
    while moment is not None and moment.timestamp() <= now:
        yield int(moment.timestamp())
        moment = entry.schedule.next_after(moment)


def due_ticks(entry: ScheduleEntry, now: float) -> list[int]:
    """The ticks of ``entry`` a scheduler should enqueue at ``now``, oldest first: the latest
    due one, or with ``catch_up`` the latest ``MAX_CATCH_UP`` due ones."""
    if entry.paused:
        return []
    floor = max(entry.since, float(entry.last_tick) if entry.last_tick is not None else 0.0)
    wanted = MAX_CATCH_UP if entry.catch_up else 1
    for window in _WINDOWS:
        start = max(floor, now - window)
        found = collections.deque(_ticks(entry, start, now), maxlen=wanted)
        if len(found) == wanted or start == floor:
            return list(found)
    return []  # pragma: no cover - the last window always reaches the floor


class Scheduler:
    """Reads the schedules from the store on every loop and enqueues the ticks that are due."""

    def __init__(self, bridge: Bridge, *, max_sleep: float = 1.0) -> None:
        self.bridge = bridge
        self.schedules: ScheduleManager = bridge.schedules
        self.max_sleep = max_sleep
        #: Who this scheduler is, in the leases it takes.
        self.id = new_id()
        self._warned: set[tuple[str, str]] = set()

    def run_once(self, now: float | None = None) -> list[Enqueued]:
        """Enqueue every tick due at ``now``; returns what was sent."""
        now = time.time() if now is None else now
        sent: list[Enqueued] = []
        for entry in self.schedules.list():
            for tick in due_ticks(entry, now):
                outcome = self._enqueue_tick(entry, tick)
                if outcome is None:
                    break
                sent.append(outcome)
        return sent

    def _enqueue_tick(self, entry: ScheduleEntry, tick: int) -> Enqueued | None:
        # Read the mark again right before claiming: another scheduler may have just moved it.
        last = self.schedules.last_tick(entry.name)
        if last is not None and tick <= last:
            return None
        try:
            task = self.schedules.task_for(entry)
        except TaskNotRegistered as exc:
            self._warn_once(entry.name, f"schedule {entry.name!r}: {exc}")
            return None
        store, claim = self.bridge.store, claim_key(entry.name, tick)
        if not store.lease(claim, self.id, now=time.time(), ttl=TAKEOVER_AFTER):
            return None
        args, kwargs = tick_arguments(task, tick, entry.args, entry.kwargs)
        try:
            result = task.using(
                bridge=self.bridge, idempotency_key=tick_key(entry.name, tick),
                queue=entry.queue, priority=entry.priority,
            ).enqueue(*args, **kwargs)
        except TaskBridgeError as exc:
            store.release_lease(claim, self.id)  # so the tick is tried again
            logger.warning("schedule %r: tick %d not enqueued, will retry: %s",
                           entry.name, tick, exc)
            return None
        store.lease(claim, self.id, now=time.time(), ttl=HOLD_SENT_TICK)
        self.schedules.record_tick(entry.name, tick)
        if not result.deduplicated:
            logger.info("schedule %r: enqueued tick %d as %s", entry.name, tick, result.id)
        return Enqueued(entry.name, tick, result)

    def _warn_once(self, name: str, message: str) -> None:
        if (name, message) not in self._warned:
            self._warned.add((name, message))
            logger.warning("%s", message)

    def seconds_until_next(self, now: float | None = None) -> float:
        """How long to sleep: until the next tick of any schedule, at most ``max_sleep``."""
        now = time.time() if now is None else now
        delay = self.max_sleep
        for entry in self.schedules.list():
            upcoming = entry.next_run(now)
            if upcoming is not None:
                delay = min(delay, upcoming.timestamp() - now)
        return max(delay, 0.0)

    def run(self, stop: threading.Event) -> None:
        """Sync the ``@periodic`` schedules into the store, then loop until ``stop`` is set."""
        self.schedules.sync_code_schedules()
        presence = Presence(self.bridge)
        logger.info("scheduler %s started on %s", presence.id, self.bridge.url.redacted())
        started = False
        outage = OutageLog("the scheduler loop", log=logger)
        while not stop.is_set():
            try:
                if not started:
                    presence.start()
                    started = True
                presence.beat(self.run_once())
                delay = self.seconds_until_next()
                outage.succeeded()
            except Exception as exc:  # a store outage must not end the scheduler
                outage.failed(exc)
                delay = self.max_sleep
            stop.wait(delay)
        with contextlib.suppress(Exception):
            presence.stop()
        logger.info("scheduler stopped")
