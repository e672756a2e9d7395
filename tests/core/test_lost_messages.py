"""The workers' sweep for messages lost before their attempt started (``resend_lost``): which
waiting records it sends again, and when it holds back. Real worker processes prove the whole
path in the conformance suite (``test_recovery``); these pin its rules on the memory backend."""

from __future__ import annotations

import time
from collections.abc import Iterator

import attrs
import pytest

from taskbridge import Bridge, Status, task
from taskbridge._lost_messages import resend_lost
from taskbridge._memory import MemoryBackend
from taskbridge._record import ErrorInfo, Record

GRACE = 30.0


@task(name="lost.echo")
def echo(value: int) -> int:
    return value


@pytest.fixture()
def bridge() -> Iterator[Bridge]:
    opened = Bridge("memory://", unsent_grace=GRACE)
    yield opened
    opened.close()


def backend_of(bridge: Bridge) -> MemoryBackend:
    assert isinstance(bridge.backend, MemoryBackend)
    return bridge.backend


def stored_without_message(bridge: Bridge, value: int, *, now: float, queue: str = "default",
                           delay: float | None = None) -> Record:
    """A PENDING record whose message is nowhere: what a worker killed after taking it leaves."""
    record, _ = bridge._prepare(echo.using(queue=queue, delay=delay), (value,), {}, now)
    [stored] = bridge.store.create([record], now=now, idempotency_ttl=60.0)
    return stored


def resent_ids(bridge: Bridge) -> list[str]:
    return [e.id for e in backend_of(bridge).pending()]


def test_a_record_past_due_by_the_grace_on_an_empty_queue_is_sent_again(bridge: Bridge) -> None:
    """Only records due more than ``unsent_grace`` ago are sent; a younger one waits."""
    now = time.time()
    old = stored_without_message(bridge, 1, now=now - GRACE - 1)
    young = stored_without_message(bridge, 2, now=now - GRACE + 5)
    resent = resend_lost(bridge, ["default"], holder="w1", now=now)
    assert [r.id for r in resent] == [old.id]
    assert resent_ids(bridge) == [old.id]
    assert young.id not in resent_ids(bridge)
    assert backend_of(bridge).run_pending(bridge) == 1
    assert bridge.get_result(old.id).value == 1


def test_a_queue_with_messages_waiting_is_not_swept(bridge: Bridge) -> None:
    """While anything waits on the queue (a backlog), nothing is sent again: the record may
    still be behind it, and sending a backlog twice would double it."""
    now = time.time()
    stored_without_message(bridge, 1, now=now - GRACE - 1)
    queued = echo.using(bridge=bridge).enqueue(2)
    assert resend_lost(bridge, ["default"], holder="w1", now=now) == []
    assert resent_ids(bridge) == [queued.id]


def test_delayed_and_retrying_records_count_from_their_due_time(bridge: Bridge) -> None:
    """A delayed record is lost only ``grace`` after its ``run_at``; a RETRYING one whose retry
    was never sent is sent as its next attempt, at once."""
    now = time.time()
    delayed = stored_without_message(bridge, 1, now=now - 2 * GRACE, delay=GRACE + 10)
    retrying = stored_without_message(bridge, 2, now=now - 3 * GRACE)
    assert bridge.store.start(retrying.id, 1, worker="gone", now=now - 3 * GRACE)
    assert retrying.envelope is not None
    following = attrs.evolve(retrying.envelope, attempt=2, run_at=now - GRACE - 1)
    bridge.store.finish(retrying.id, 1, Status.RETRYING, now=now - 3 * GRACE,
                        idempotency_ttl=60.0, error=ErrorInfo("OSError", "down"),
                        run_at=following.run_at, envelope=following)
    resent = resend_lost(bridge, ["default"], holder="w1", now=now)
    assert [r.id for r in resent] == [retrying.id]
    [sent] = backend_of(bridge).pending()
    assert (sent.id, sent.attempt, sent.run_at) == (retrying.id, 2, None)
    assert delayed.id not in resent_ids(bridge)


def test_one_worker_sweeps_a_queue_at_a_time(bridge: Bridge) -> None:
    """While one worker holds a queue's sweep lease, another sweeping it sends nothing, so a
    lost record is sent once however many workers consume its queue."""
    now = time.time()
    assert resend_lost(bridge, ["default"], holder="w1", now=now) == []  # w1 takes the lease
    lost = stored_without_message(bridge, 1, now=now - GRACE - 1)
    assert resend_lost(bridge, ["default"], holder="w2", now=now + 1) == []
    assert [r.id for r in resend_lost(bridge, ["default"], holder="w1", now=now + 2)] == [lost.id]
    assert resent_ids(bridge) == [lost.id]


def test_canceled_records_and_other_queues_are_left_alone(bridge: Bridge) -> None:
    """Only waiting records of the swept queues: not a canceled one, not one on a queue this
    worker does not consume."""
    now = time.time()
    canceled = stored_without_message(bridge, 1, now=now - GRACE - 1)
    bridge.store.cancel(canceled.id, now=now)
    elsewhere = stored_without_message(bridge, 2, now=now - GRACE - 1, queue="reports")
    assert resend_lost(bridge, ["default"], holder="w1", now=now) == []
    assert resent_ids(bridge) == []
    assert [r.id for r in resend_lost(bridge, ["reports"], holder="w1", now=now)] == [elsewhere.id]


def test_lost_records_behind_many_long_delayed_ones_are_found(bridge: Bridge) -> None:
    """Records delayed far ahead but enqueued long ago fill the sweep's first pages; a lost
    record enqueued before them is still found."""
    now = time.time()
    lost = stored_without_message(bridge, 0, now=now - 10 * GRACE)
    for n in range(450):
        stored_without_message(bridge, n + 1, now=now - 5 * GRACE, delay=3600)
    assert [r.id for r in resend_lost(bridge, ["default"], holder="w1", now=now)] == [lost.id]
