"""Scheduler health: each running scheduler records itself and the last tick it sent, so that
``taskbridge status`` can tell whether ticks are being sent, and by whom.

A scheduler's record is a store schedule entry named ``PRESENCE_PREFIX + id`` (schedule names
start with a letter or digit, so it never collides with one), renewed every
``heartbeat_interval`` seconds and removed when the scheduler stops. A scheduler that died
leaves its record, which stops being renewed: it shows as gone, with the last tick it sent.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from taskbridge._bridge import Bridge

#: Store entries under this prefix are schedulers' presence records, not schedules.
PRESENCE_PREFIX = "~scheduler:"
#: A presence record renewed less recently than this many heartbeats means a gone scheduler.
ALIVE_FOR = 3
#: Records of schedulers gone this long are deleted by the next scheduler that starts.
FORGET_AFTER = 7 * 24 * 3600.0


class Presence:
    """What one scheduler records about itself."""

    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.info: dict[str, Any] = {
            "id": self.id, "host": socket.gethostname(), "pid": os.getpid(),
            "started_at": time.time(), "seen_at": None, "last_tick": None,
        }
        self._written = 0.0

    def start(self, now: float | None = None) -> None:
        """Record this scheduler and forget the records of schedulers long gone."""
        now = time.time() if now is None else now
        store = self.bridge.store
        for name, data in store.list_schedules().items():
            if name.startswith(PRESENCE_PREFIX) and now - (data.get("seen_at") or 0) > FORGET_AFTER:
                store.delete_schedule(name)
        self.beat([], now, force=True)

    def beat(self, sent: Iterable[Any], now: float | None = None, *, force: bool = False) -> None:
        """Note the ticks just sent (``Enqueued`` values); write the record when one was sent,
        or once a heartbeat interval."""
        now = time.time() if now is None else now
        fresh = [s for s in sent if not s.result.deduplicated]
        for enqueued in fresh:
            self.info["last_tick"] = {"schedule": enqueued.schedule, "tick": enqueued.tick,
                                      "id": enqueued.result.id, "sent_at": now}
        if fresh or force or now - self._written >= self.bridge.settings.heartbeat_interval:
            self.info["seen_at"] = now
            self.bridge.store.put_schedule(PRESENCE_PREFIX + self.id, dict(self.info))
            self._written = now

    def stop(self) -> None:
        """Remove the record: this scheduler stopped cleanly."""
        self.bridge.store.delete_schedule(PRESENCE_PREFIX + self.id)


def scheduler_health(bridge: Bridge, now: float | None = None) -> dict[str, Any]:
    """The running schedulers and the last tick any scheduler sent (``sent_at``, ``by``)."""
    now = time.time() if now is None else now
    window = ALIVE_FOR * bridge.settings.heartbeat_interval
    records = [data for name, data in bridge.store.list_schedules().items()
               if name.startswith(PRESENCE_PREFIX)]
    running = [r for r in records if now - (r.get("seen_at") or 0) <= window]
    ticks = [dict(r["last_tick"], by=r.get("id")) for r in records if r.get("last_tick")]
    last = max(ticks, key=lambda t: t.get("sent_at") or 0, default=None)
    return {"running": sorted(running, key=lambda r: str(r.get("id"))), "last_tick": last}
