"""Enqueues tied to an application's open transaction (a framework adapter's): publishing
after its commit where the store wrote the records inside it, running the whole enqueue on
commit where it did not, and sending what a producer that died between commit and send left
unsent."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from taskbridge._envelope import Envelope
from taskbridge._record import Record
from taskbridge._status import Status
from taskbridge._stores.base import DeferredPublish

if TYPE_CHECKING:
    from taskbridge._bridge import Bridge
    from taskbridge._result import Result

#: Given an action, runs it after the application's open transaction commits (never on
#: rollback) and answers True; answers False, running nothing, when there is none.
AfterCommit = Callable[[Callable[[], None]], bool]

logger = logging.getLogger("taskbridge")


def publish_after_commit(
    bridge: Bridge, records: Sequence[Record], stored: Sequence[Record],
    envelopes: Sequence[Envelope], now: float,
) -> bool:
    """Where the store wrote the records inside the application's open transaction
    (``DeferredPublish.publish_after_commit``), publish only once that commits: a rollback
    then leaves neither record nor message. Records whose publish never happened (the process
    died, the broker was down) stay marked unsent, and workers send them
    (:func:`resend_unsent`). False when the store cannot or the transaction is not open."""
    store = bridge.store
    if not isinstance(store, DeferredPublish):
        return False
    fresh = [s for r, s in zip(records, stored, strict=True) if s.id == r.id]

    def publish() -> None:
        try:
            with bridge._translated(f"send {len(envelopes)} task(s)"):
                bridge.backend.publish(envelopes)
            store.mark_sent([e.id for e in envelopes])
        except Exception:
            logger.exception(
                "could not send %d task(s) after the transaction committed; their records "
                "stay marked unsent and a worker sends them in %.0f s or so",
                len(envelopes), bridge.settings.unsent_grace)
            return
        for record in fresh:
            bridge.hooks.taskbridge_enqueued(record=record)

    return store.publish_after_commit([e.id for e in envelopes], publish, now=now)


def send_committed(
    bridge: Bridge, records: Sequence[Record], envelopes: Sequence[Envelope],
    handles: Sequence[Result],
) -> None:
    """The deferred half of an enqueue ``Bridge.defer_enqueue`` put off to the commit: store
    and send now, and point the handles given out then at what was stored."""
    try:
        stored = bridge._send(records, envelopes, time.time())
    except Exception:
        logger.exception("could not enqueue %d task(s) after the transaction committed; "
                         "nothing was stored or sent", len(records))
        return
    for handle, record in zip(handles, stored, strict=True):
        handle._adopt(record)


def resend_unsent(bridge: Bridge, *, now: float | None = None, grace: float | None = None,
                  limit: int = 100) -> int:
    """Send the messages of records left unsent after a commit (the producer died between
    commit and send, or could not reach the broker) ``grace`` seconds ago (default: the
    ``unsent_grace`` setting); what every worker's housekeeping does.

    The store hands each such record to one caller per ``grace`` period (``take_unsent``), so
    in practice it is sent once; a second send would be harmless anyway, as ``start`` lets an
    attempt run once. Returns how many were sent.
    """
    store = bridge.store
    if not isinstance(store, DeferredPublish):
        return 0
    now = time.time() if now is None else now
    grace = bridge.settings.unsent_grace if grace is None else grace
    records = store.take_unsent(before=now - grace, now=now, limit=limit)
    waiting = [r.envelope for r in records if r.status is Status.PENDING and r.envelope]
    if waiting:
        bridge.send(waiting)
        logger.warning("sent %d task(s) whose producer committed but never sent them: %s",
                       len(waiting), ", ".join(f"{e.task_name} [{e.id}]" for e in waiting))
    if records:
        store.mark_sent([r.id for r in records])
    return len(waiting)
