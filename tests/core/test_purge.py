"""Records live as long as they should (CONTRACT §13): bridge.purge, the workers' purger, and
a scheduler that leaves only real executions behind and a bounded store."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import taskbridge
from taskbridge import Every, InvalidTaskOptions, Status, task
from taskbridge._memory import KEEP_SENT, MemoryBackend
from taskbridge._purge import PURGE_EVERY, Purger
from taskbridge._schedules.scheduler import Scheduler
from taskbridge.plugin import Worker

from .conftest import run_all

T0 = 2_000_000_000


@task(name="purge.echo")
def echo(value: Any = None) -> Any:
    return value


@task(name="purge.boom")
def boom() -> None:
    raise ValueError("boom")


@task(name="purge.tick")
def tick(timestamp: int) -> int:
    return timestamp


def finished(bridge: taskbridge.Bridge, ok: int = 0, failed: int = 0) -> list[str]:
    ids = [echo.using(bridge=bridge).enqueue(n).id for n in range(ok)]
    ids += [boom.using(bridge=bridge).enqueue().id for _ in range(failed)]
    run_all(bridge)
    return ids


def test_purge_removes_finished_records_older_than_asked() -> None:
    """bridge.purge(older_than=s) deletes final records finished s seconds ago or more and
    says how many; waiting ones stay."""
    bridge = taskbridge.Bridge("memory://")
    finished(bridge, ok=3, failed=2)
    waiting = echo.using(bridge=bridge, delay=3600).enqueue(9)
    assert bridge.purge(older_than=3600) == 0
    assert bridge.purge(older_than=0) == 5
    assert [r.id for r in bridge.list()] == [waiting.id]
    with pytest.raises(InvalidTaskOptions, match="older_than"):
        bridge.purge(older_than=-1)


def test_purge_by_default_applies_result_ttl_and_failed_ttl() -> None:
    """bridge.purge() uses the settings: result_ttl for SUCCEEDED and CANCELED, the longer
    failed_ttl for FAILED."""
    bridge = taskbridge.Bridge("memory://", result_ttl=0.2, failed_ttl=3600)
    finished(bridge, ok=2, failed=1)
    deadline, purged = time.monotonic() + 5, 0
    while purged < 2:
        assert time.monotonic() < deadline, "records past result_ttl were not purged"
        time.sleep(0.05)
        purged += bridge.purge()
    assert [r.status for r in bridge.list()] == [Status.FAILED]


def test_purger_works_in_batches_and_carries_a_backlog_over() -> None:
    """The workers' purger deletes in batches; out of time, it carries on at its next round
    instead of waiting its interval; done, it waits its interval."""
    bridge = taskbridge.Bridge("memory://", result_ttl=0.01)
    finished(bridge, ok=25)
    time.sleep(0.02)  # every record is now past result_ttl
    hurried = Purger(bridge, every=3600, batch=10, budget=0.0)
    assert [hurried.run_due() for _ in range(4)] == [10, 10, 5, 0]
    finished(bridge, ok=3)
    time.sleep(0.02)
    assert hurried.run_due() == 0  # the backlog is gone: next purge in an hour


def test_purger_runs_at_least_once_a_minute_and_as_often_as_short_ttls() -> None:
    """By default a worker purges every PURGE_EVERY seconds (under a minute), or as often as
    the shortest ttl when that is shorter."""
    assert PURGE_EVERY <= 60
    assert Purger(taskbridge.Bridge("memory://")).every == PURGE_EVERY
    short = taskbridge.Bridge("memory://", result_ttl=600, failed_ttl=5)
    assert Purger(short).every == 5


def test_a_worker_purges_while_it_runs() -> None:
    """A memory:// worker's housekeeping purges records past result_ttl in the background."""
    bridge = taskbridge.Bridge("memory://", result_ttl=0.2, heartbeat_interval=0.05)
    ids = finished(bridge, ok=3)
    options = taskbridge.WorkerOptions()
    worker = Worker(bridge, options)
    runner = threading.Thread(target=bridge.backend.run_worker, args=(worker,))
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while bridge.store.get_many(ids) != [None, None, None]:
            assert time.monotonic() < deadline, "the worker did not purge"
            time.sleep(0.05)
    finally:
        options.stop.set()
        runner.join()


def test_a_scheduler_leaves_only_real_executions() -> None:
    """A scheduler running for a while: list(), count() and failed() show the ticks it sent
    and nothing of its own bookkeeping."""
    bridge = taskbridge.Bridge("memory://")
    bridge.schedules.add("often", tick, Every(seconds=1))
    scheduler = Scheduler(bridge)
    sent = [e for n in range(1, 41) for e in scheduler.run_once(now=time.time() + n)]
    run_all(bridge)
    assert len(sent) == 40
    assert bridge.count() == 40 == bridge.count(task_name=tick.name, status=Status.SUCCEEDED)
    assert {r.task_name for r in bridge.list(limit=1000)} == {tick.name}
    assert bridge.failed() == []


def test_a_long_run_stays_bounded_under_purge() -> None:
    """Ticks keep coming and running; with the workers' purger the store never holds a record
    past result_ttl (so its size is bounded by the rate times the ttl), not every execution."""
    bridge = taskbridge.Bridge("memory://", result_ttl=0.02)
    bridge.schedules.add("often", tick, Every(seconds=1))
    scheduler, purger = Scheduler(bridge), Purger(bridge, every=0)
    start, sizes = time.time(), []
    for n in range(1, 301):
        scheduler.run_once(now=start + n)
        run_all(bridge)
        # The purge runs now or later, so whatever it keeps finished after this cutoff
        # (a cutoff taken after it would race a loaded machine's clock).
        cutoff = time.time() - 0.02
        purger.run_due()
        assert all((r.record.finished_at or 0) > cutoff for r in bridge.list(limit=1000))
        sizes.append(bridge.count())
    assert bridge.count(task_name=tick.name) == sizes[-1] and max(sizes) < 300


def test_memory_backend_keeps_a_bounded_list_of_sent_envelopes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """MemoryBackend.sent keeps only the latest KEEP_SENT envelopes, so a long-running
    memory:// script does not grow without bound."""
    assert KEEP_SENT == 10_000
    monkeypatch.setattr("taskbridge._memory.KEEP_SENT", 5)
    bridge = taskbridge.Bridge("memory://")
    backend = bridge.backend
    assert isinstance(backend, MemoryBackend)
    results = [echo.using(bridge=bridge).enqueue(n) for n in range(8)]
    assert [e.id for e in backend.sent] == [r.id for r in results[3:]]
    run_all(bridge)
    assert len(backend.sent) == 5
