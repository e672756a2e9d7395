"""Enqueues tied to an application's transaction, on memory://: a store whose writes join an
open transaction publishes after its commit (``DeferredPublish``), workers send what a dead
producer left unsent, and ``Bridge.defer_enqueue`` runs a whole enqueue on commit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from taskbridge import Bridge, EnqueueError, Record, Status, task
from taskbridge.plugin import DeferredPublish, MemoryStore, resend_unsent

GRACE = 30.0


@task(name="deferred.double")
def double(n: int) -> int:
    return 2 * n


class TransactionStore(MemoryStore):
    """A memory store with a pretend application transaction: while ``open``, publishes wait
    for :meth:`commit`; :meth:`rollback` deletes what the transaction created."""

    def __init__(self) -> None:
        super().__init__()
        self.open = False
        self.on_commit: list[Callable[[], None]] = []
        self.created: list[str] = []
        self.unsent: dict[str, float] = {}

    def create(self, records: Sequence[Record], **kwargs: Any) -> list[Record]:
        stored = super().create(records, **kwargs)
        if self.open:
            self.created += [r.id for r in records]
        return stored

    def publish_after_commit(
        self, ids: Sequence[str], publish: Callable[[], None], *, now: float
    ) -> bool:
        if not self.open:
            return False
        self.unsent.update(dict.fromkeys(ids, now))
        self.on_commit.append(publish)
        return True

    def take_unsent(self, *, before: float, now: float, limit: int = 100) -> list[Record]:
        due = [id for id, since in self.unsent.items() if since < before][:limit]
        self.unsent.update(dict.fromkeys(due, now))
        return [r for r in self.get_many(due) if r is not None]

    def mark_sent(self, ids: Sequence[str]) -> None:
        for id in ids:
            self.unsent.pop(id, None)

    def commit(self, *, crash: bool = False) -> None:
        """End the transaction; ``crash`` is a producer dying between commit and send."""
        self.open, hooks, self.on_commit, self.created = False, self.on_commit, [], []
        if not crash:
            for hook in hooks:
                hook()

    def rollback(self) -> None:
        self.open, self.on_commit = False, []
        with self.transaction() as tx:
            for id in self.created:
                tx.delete(id)
        self.created, self.unsent = [], {}


@pytest.fixture
def store_bridge() -> Any:
    """A memory:// bridge whose store is a :class:`TransactionStore`."""
    bridge = Bridge("memory://")
    store = TransactionStore()
    bridge.store = bridge.backend.store = store  # type: ignore[misc]
    yield bridge
    bridge.close()


def sent(bridge: Bridge) -> list[str]:
    return [e.id for e in bridge.backend.sent]  # type: ignore[attr-defined]


def test_the_protocol_is_recognised() -> None:
    """A store with the three methods is a DeferredPublish; the plain memory store is not."""
    assert isinstance(TransactionStore(), DeferredPublish)
    assert not isinstance(MemoryStore(), DeferredPublish)


def test_inside_a_transaction_the_record_is_written_and_the_message_waits_for_commit(
    store_bridge: Bridge,
) -> None:
    """Enqueued in an open transaction: stored at once, published only on commit, unsent
    mark cleared then."""
    store: TransactionStore = store_bridge.store  # type: ignore[assignment]
    store.open = True
    result = double.using(bridge=store_bridge).enqueue(4)
    assert store_bridge.get_result(result.id).status is Status.PENDING
    assert sent(store_bridge) == [] and list(store.unsent) == [result.id]
    store.commit()
    assert sent(store_bridge) == [result.id] and store.unsent == {}


def test_a_rollback_leaves_neither_record_nor_message(store_bridge: Bridge) -> None:
    """Rolled back: no record, nothing published."""
    store: TransactionStore = store_bridge.store  # type: ignore[assignment]
    store.open = True
    double.using(bridge=store_bridge).enqueue(4)
    store.rollback()
    assert store_bridge.count() == 0 and sent(store_bridge) == []


def test_outside_a_transaction_publishing_is_immediate(store_bridge: Bridge) -> None:
    """No transaction open: the message goes out at once, nothing is marked unsent."""
    store: TransactionStore = store_bridge.store  # type: ignore[assignment]
    result = double.using(bridge=store_bridge).enqueue(4)
    assert sent(store_bridge) == [result.id] and store.unsent == {}


def test_a_record_left_unsent_is_sent_once_after_the_grace_period(store_bridge: Bridge) -> None:
    """The producer died between commit and send: workers send it after the grace period,
    once, however often they sweep."""
    store: TransactionStore = store_bridge.store  # type: ignore[assignment]
    store.open = True
    result = double.using(bridge=store_bridge).enqueue(4)
    store.commit(crash=True)
    now = store.unsent[result.id]
    assert resend_unsent(store_bridge, now=now + GRACE / 2, grace=GRACE) == 0
    assert resend_unsent(store_bridge, now=now + GRACE + 1, grace=GRACE) == 1
    assert resend_unsent(store_bridge, now=now + 3 * GRACE, grace=GRACE) == 0
    assert sent(store_bridge) == [result.id]
    store_bridge.drive()
    assert result.refresh().status is Status.SUCCEEDED and result.value == 8


def test_a_failed_publish_after_commit_leaves_the_record_for_the_sweep(
    store_bridge: Bridge, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The broker refuses the message after commit: no error reaches the committed caller,
    the record stays unsent and a sweep sends it later."""
    store: TransactionStore = store_bridge.store  # type: ignore[assignment]
    store.open = True
    result = double.using(bridge=store_bridge).enqueue(4)

    def refuse(envelopes: Any) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr(store_bridge.backend, "publish", refuse)
    store.commit()
    assert list(store.unsent) == [result.id]
    monkeypatch.undo()
    assert resend_unsent(store_bridge, now=store.unsent[result.id] + GRACE + 1) == 1
    assert sent(store_bridge) == [result.id]


def test_a_record_started_meanwhile_is_not_sent_again(store_bridge: Bridge) -> None:
    """A record marked unsent whose message did go out (it ran) is only unmarked."""
    store: TransactionStore = store_bridge.store  # type: ignore[assignment]
    store.open = True
    result = double.using(bridge=store_bridge).enqueue(4)
    store.commit(crash=True)
    store_bridge.send([result.record.envelope])  # type: ignore[list-item]
    store_bridge.drive()
    assert resend_unsent(store_bridge, now=store.unsent[result.id] + GRACE + 1) == 0
    assert store.unsent == {} and sent(store_bridge) == [result.id]


def test_defer_enqueue_runs_the_whole_enqueue_on_commit() -> None:
    """With defer_enqueue answering True, nothing is stored until the hook runs; the handle
    has its final id at once; argument errors still raise at the call."""
    waiting: list[Callable[[], None]] = []

    def defer(action: Callable[[], None]) -> bool:
        waiting.append(action)
        return True

    bridge = Bridge("memory://", defer_enqueue=defer)
    try:
        result = double.using(bridge=bridge).enqueue(4)
        with pytest.raises(TypeError):
            double.using(bridge=bridge).enqueue(object())  # type: ignore[arg-type]
        assert bridge.count() == 0 and len(waiting) == 1
        waiting.pop()()
        assert bridge.get_result(result.id).id == result.id
        bridge.drive()
        assert result.refresh().value == 8
    finally:
        bridge.close()


def test_defer_enqueue_adopts_the_holder_of_a_taken_key() -> None:
    """A deferred enqueue whose idempotency key is taken at commit becomes a deduplicated
    handle on the execution holding it."""
    waiting: list[Callable[[], None]] = []
    bridge = Bridge("memory://", defer_enqueue=lambda action: waiting.append(action) is None)
    try:
        bridge.defer_enqueue = None
        first = double.using(bridge=bridge, idempotency_key="k").enqueue(1)
        bridge.defer_enqueue = lambda action: waiting.append(action) is None
        second = double.using(bridge=bridge, idempotency_key="k").enqueue(1)
        assert not second.deduplicated
        waiting.pop()()
        assert second.deduplicated and second.id == first.id
    finally:
        bridge.close()


def test_defer_enqueue_answering_false_enqueues_at_once() -> None:
    """No transaction open: the hook answers False and the enqueue happens now."""
    bridge = Bridge("memory://", defer_enqueue=lambda action: False)
    try:
        double.using(bridge=bridge).enqueue(4)
        assert bridge.count() == 1
    finally:
        bridge.close()


def test_a_deferred_enqueue_that_fails_at_commit_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The backend is down at commit: the committed caller sees no exception; the log says
    that nothing was stored or sent."""
    waiting: list[Callable[[], None]] = []
    bridge = Bridge("memory://", defer_enqueue=lambda action: waiting.append(action) is None)
    try:
        double.using(bridge=bridge).enqueue(4)

        def refuse(envelopes: Any) -> None:
            raise EnqueueError("down")

        monkeypatch.setattr(bridge.backend, "publish", refuse)
        waiting.pop()()
        assert bridge.count() == 0
        assert "nothing was stored or sent" in caplog.text
    finally:
        bridge.close()


def test_the_grace_period_is_the_unsent_grace_setting() -> None:
    """Without an explicit grace, the sweep waits the bridge's unsent_grace setting."""
    bridge = Bridge("memory://", unsent_grace=5.0)
    store = TransactionStore()
    bridge.store = bridge.backend.store = store  # type: ignore[misc]
    try:
        store.open = True
        result = double.using(bridge=bridge).enqueue(4)
        store.commit(crash=True)
        now = store.unsent[result.id]
        assert resend_unsent(bridge, now=now + 4.0) == 0
        assert resend_unsent(bridge, now=now + 6.0) == 1
    finally:
        bridge.close()
