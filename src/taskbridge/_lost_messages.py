"""Sending again what an engine lost before the store's ``start``.

An engine takes a message off its queue before the worker records the attempt: a worker killed
in between (Huey deletes a message as it dequeues it, RQ's work horse dies, Celery acks before a
prefork child runs), a scheduler killed between popping due messages and enqueueing them, a
Redis restart between kombu's pop and its unacked bookkeeping, or the window between recording
RETRYING and sending the retry, each leave a record waiting with no message anywhere. Crash
recovery (``recover_lost``) sees only RUNNING records, so these would wait forever.

Every worker therefore sweeps the queues it consumes: once a queue is empty, a record on it
still waiting ``unsent_grace`` seconds after it was due has lost its message, and its envelope
is sent again. A record whose message was only slow (a prefetched message behind a long task)
is then delivered twice, which is harmless: the store's ``start`` lets an attempt run once.
Waiting for an empty queue keeps a backlog from being sent again, and bounds the sweep to one
resend per record per drain.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

import attrs

from taskbridge import _chains
from taskbridge._record import Record
from taskbridge._status import WAITING
from taskbridge._stores.base import RecordFilter

if TYPE_CHECKING:
    from taskbridge._bridge import Bridge

logger = logging.getLogger("taskbridge.worker")

#: Most records sent again per queue and sweep, and the size of a page looked at.
SWEEP_LIMIT = 200
#: Most pages of waiting records looked at per queue and sweep.
SWEEP_PAGES = 10


def resend_lost(
    bridge: Bridge,
    queues: Iterable[str],
    *,
    holder: str,
    now: float | None = None,
    grace: float | None = None,
) -> list[Record]:
    """Send again the waiting records of ``queues`` whose messages were lost; returns them.

    One worker sweeps a queue at a time (a store lease named after the queue, held by
    ``holder``); it sweeps only an empty queue, and only records due ``grace`` seconds ago or
    more (default: the ``unsent_grace`` setting).
    """
    store = bridge.store
    now = time.time() if now is None else now
    grace = bridge.settings.unsent_grace if grace is None else grace
    due_before = now - grace
    lease_ttl = max(grace, 3 * bridge.settings.heartbeat_interval)
    resent: list[Record] = []
    for queue in queues:
        if not store.lease(f"resend-lost:{queue}", holder, now=now, ttl=lease_ttl):
            continue
        if bridge.backend.queue_depth(queue) > 0:
            continue
        lost = _find_lost(bridge, queue, due_before)
        if not lost:
            continue
        assert all(record.envelope is not None for record in lost)
        bridge.send([attrs.evolve(r.envelope, run_at=None) for r in lost])  # type: ignore[misc]
        logger.warning(
            "sent again %d task(s) on queue %r whose messages were lost before they started "
            "(waiting more than %.0f s past due on an empty queue): %s", len(lost), queue, grace,
            ", ".join(f"{r.task_name} [{r.id}] attempt {r.attempts + 1}" for r in lost),
        )
        resent.extend(lost)
    return resent


def _find_lost(bridge: Bridge, queue: str, due_before: float) -> list[Record]:
    """Waiting records of ``queue`` that lost their messages, newest first; looks at most
    ``SWEEP_PAGES`` pages (delayed records enqueued long ago but due later fill pages too)."""
    wanted = RecordFilter(status=WAITING, queue=queue, until=due_before)
    lost: list[Record] = []
    for page in range(SWEEP_PAGES):
        waiting = bridge.store.list(wanted, limit=SWEEP_LIMIT, offset=page * SWEEP_LIMIT)
        lost += [record for record in waiting if _lost(record, due_before)]
        if len(waiting) < SWEEP_LIMIT or len(lost) >= SWEEP_LIMIT:
            break
    return lost[:SWEEP_LIMIT]


def _lost(record: Record, due_before: float) -> bool:
    """A waiting record due before ``due_before`` whose envelope is the next attempt's."""
    envelope = record.envelope
    due = record.run_at if record.run_at is not None else record.enqueued_at
    return (
        record.status in WAITING
        and envelope is not None
        and not _chains.is_chain(record)
        and not record.cancel_requested
        and due <= due_before
        and envelope.attempt == record.attempts + 1
    )
