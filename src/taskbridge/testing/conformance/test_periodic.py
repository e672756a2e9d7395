"""CONTRACT §8: periodic tasks — stored schedules, each tick enqueued once, missed ticks skipped."""

from __future__ import annotations

import threading
import uuid

import pytest

from taskbridge import Cron, Every, InvalidTaskOptions, Status
from taskbridge._schedules.scheduler import Enqueued, Scheduler, tick_key
from taskbridge.testing.conformance.harness import Harness
from taskbridge.testing.conformance.tasks import tick


def _name(label: str) -> str:
    return f"conformance-{label}-{uuid.uuid4().hex[:8]}"


def _run_once(scheduler: Scheduler, name: str, now: float) -> list[Enqueued]:
    """What one scheduler pass sent for schedule ``name`` (the store may hold others)."""
    return [sent for sent in scheduler.run_once(now=now) if sent.schedule == name]


def test_schedules_live_in_the_store(backend: Harness) -> None:
    """Schedules added, paused and removed at run time are seen through any bridge."""
    name = _name("stored")
    backend.bridge.schedules.add(name, tick, Every(minutes=5), kwargs={"label": "x"})
    try:
        seen = backend.other_bridge().schedules.get(name)
        assert seen is not None and seen.task == tick.name and seen.kwargs == {"label": "x"}
        backend.bridge.schedules.pause(name)
        paused = backend.other_bridge().schedules.get(name)
        assert paused is not None and paused.paused
    finally:
        assert backend.bridge.schedules.remove(name)
    assert backend.other_bridge().schedules.get(name) is None


def test_code_schedules_reach_the_store(backend: Harness) -> None:
    """@periodic declarations are copied into the store when a scheduler starts."""
    backend.bridge.schedules.sync_code_schedules()
    entry = backend.bridge.schedules.get("conformance.daily")
    assert entry is not None and entry.source == "code"
    assert entry.kwargs == {"label": "daily"}


def test_due_tick_runs_with_its_timestamp(backend: Harness) -> None:
    """A due tick is enqueued with the key schedule:<name>:<tick>, and the task receives the
    tick's Unix timestamp as its first argument."""
    name = _name("tick")
    entry = backend.bridge.schedules.add(name, tick, Every(seconds=10), kwargs={"label": name})
    try:
        when = (int(entry.since) // 10 + 1) * 10
        [sent] = _run_once(Scheduler(backend.bridge), name, when + 0.5)
        assert sent.tick == when
        assert sent.result.idempotency_key == tick_key(name, when)
        assert backend.finish(sent.result).value == [when, name]
    finally:
        backend.bridge.schedules.remove(name)


def test_racing_schedulers_enqueue_each_tick_once(backend: Harness) -> None:
    """Several schedulers at once still enqueue every tick exactly once."""
    name = _name("race")
    entry = backend.bridge.schedules.add(name, tick, Every(seconds=10))
    when = (int(entry.since) // 10 + 1) * 10
    schedulers = [Scheduler(backend.other_bridge() if i % 2 else backend.bridge)
                  for i in range(6)]
    barrier = threading.Barrier(len(schedulers))
    sent: list[Enqueued] = []
    lock = threading.Lock()

    def run(scheduler: Scheduler) -> None:
        barrier.wait(10)
        outcome = _run_once(scheduler, name, when + 0.5)
        with lock:
            sent.extend(outcome)

    threads = [threading.Thread(target=run, args=(s,)) for s in schedulers]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        fresh = [e for e in sent if not e.result.deduplicated]
        assert len(fresh) == 1 and fresh[0].tick == when
        assert {e.result.id for e in sent} == {fresh[0].result.id}
        assert backend.finish(fresh[0].result).status is Status.SUCCEEDED
    finally:
        backend.bridge.schedules.remove(name)


def test_missed_ticks_are_skipped_but_the_latest(backend: Harness) -> None:
    """After downtime only the latest missed tick runs; a paused schedule runs nothing."""
    name = _name("missed")
    entry = backend.bridge.schedules.add(name, tick, Every(seconds=10))
    try:
        first = (int(entry.since) // 10 + 1) * 10
        later = first + 60  # seven ticks were due by then
        [sent] = _run_once(Scheduler(backend.bridge), name, later + 0.5)
        assert sent.tick == later
        backend.finish(sent.result)
        assert _run_once(Scheduler(backend.bridge), name, later + 0.5) == []
        backend.bridge.schedules.pause(name)
        assert _run_once(Scheduler(backend.bridge), name, later + 100.5) == []
    finally:
        backend.bridge.schedules.remove(name)


def test_bad_schedules_are_refused() -> None:
    """A malformed cron expression or empty interval is refused when declared."""
    with pytest.raises(InvalidTaskOptions):
        Every()
    with pytest.raises((InvalidTaskOptions, ValueError)):
        Cron("not a cron")
