"""bridge.schedules, @periodic and the scheduler loop, on memory:// with controlled clocks."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from typing import Any

import pytest

import taskbridge
from taskbridge import InvalidTaskOptions, ScheduleNotFound, Status, task
from taskbridge._schedules.entry import ScheduleEntry
from taskbridge._schedules.registry import code_schedules, periodic
from taskbridge._schedules.scheduler import (
    HOLD_SENT_TICK,
    MAX_CATCH_UP,
    TAKEOVER_AFTER,
    Scheduler,
    claim_key,
    due_ticks,
    tick_key,
)
from taskbridge._schedules.values import At, Cron, Every

T0 = 2_000_000_000  # a whole minute, far from now, so controlled clocks never meet real ticks


@task
def record_tick(timestamp: int, *args: Any, **kwargs: Any) -> int:
    return timestamp


@task
def failing_tick(timestamp: int) -> None:
    raise RuntimeError(f"tick {timestamp} failed")


def add_every_second(bridge: taskbridge.Bridge, name: str = "s", **options: Any) -> None:
    bridge.schedules.add(name, record_tick, Every(seconds=1), **options)
    # Count ticks from T0 on, as if the schedule had been added then.
    bridge.schedules.update(name)
    data = bridge.store.get_schedule(name)
    assert data is not None
    bridge.store.put_schedule(name, dict(data, since=T0))


def test_periodic_declares_a_code_schedule() -> None:
    """@periodic above @task registers a named code schedule and returns the task itself."""

    @periodic(Cron("*/5 * * * *"), name="checks", kwargs={"deep": True}, queue="ops")
    @task
    def healthchecks(timestamp: int, deep: bool = False) -> None: ...

    entry = code_schedules()["checks"]
    assert isinstance(healthchecks, taskbridge.Task)
    assert (entry.task, entry.kwargs, entry.queue, entry.source) == (
        healthchecks.name, {"deep": True}, "ops", "code")


def test_periodic_below_task_is_an_error() -> None:
    """@periodic on a plain function says to put it above @task."""
    with pytest.raises(InvalidTaskOptions, match="put it above @task"):
        periodic(Every(minutes=1))(lambda ts: None)  # type: ignore[arg-type]


def test_schedule_arguments_must_be_json() -> None:
    """A schedule's args and kwargs obey the JSON rule, checked when it is declared."""
    with pytest.raises(taskbridge.ArgumentsNotSerializable):
        periodic(Every(minutes=1), kwargs={"when": dt.datetime.now()})(record_tick)


def test_manage_schedules_in_the_store(bridge: taskbridge.Bridge) -> None:
    """add, get, list, update, pause, resume and remove act on the bridge's store."""
    added = bridge.schedules.add("nightly", record_tick, Every(hours=24), kwargs={"kind": "d"})
    assert bridge.schedules.get("nightly") == added
    assert [e.name for e in bridge.schedules.list()] == ["nightly"]
    assert bridge.schedules.update("nightly", schedule=Cron("0 3 * * *")).schedule == Cron(
        "0 3 * * *")
    assert bridge.schedules.pause("nightly").paused
    assert bridge.schedules.get("nightly").next_run() is None  # type: ignore[union-attr]
    assert not bridge.schedules.resume("nightly").paused
    assert bridge.schedules.remove("nightly") is True
    assert bridge.schedules.get("nightly") is None and bridge.schedules.list() == []
    assert bridge.schedules.remove("nightly") is False


def test_unknown_schedule_names_the_known_ones(bridge: taskbridge.Bridge) -> None:
    """Pausing a schedule nobody added is an error listing the stored schedules."""
    bridge.schedules.add("a", record_tick, Every(minutes=1))
    with pytest.raises(ScheduleNotFound, match="no schedule named 'b'; stored schedules: a"):
        bridge.schedules.pause("b")


def test_one_time_schedule_in_the_past_is_refused(bridge: taskbridge.Bridge) -> None:
    """An At() schedule with no tick after now is refused when added."""
    with pytest.raises(InvalidTaskOptions, match="no tick after now"):
        bridge.schedules.add("once", record_tick, At(dt.datetime(2001, 1, 1, tzinfo=dt.UTC)))


def test_sync_keeps_the_paused_flag(bridge: taskbridge.Bridge) -> None:
    """Syncing @periodic schedules into the store keeps a pause made at run time."""
    periodic(Every(minutes=1), name="code")(record_tick)
    bridge.schedules.sync_code_schedules()
    bridge.schedules.pause("code")
    bridge.schedules.sync_code_schedules()
    entry = bridge.schedules.get("code")
    assert entry is not None and entry.paused and entry.source == "code"


def test_tick_is_enqueued_with_its_key_and_timestamp(bridge: taskbridge.Bridge) -> None:
    """A due tick is enqueued once, key schedule:<name>:<tick>, the tick as first argument."""
    add_every_second(bridge, args=[7], kwargs={"k": "v"}, queue="ticks", priority=5)
    [sent] = Scheduler(bridge).run_once(now=T0 + 1.2)
    result = sent.result
    assert (sent.tick, result.idempotency_key) == (T0 + 1, tick_key("s", T0 + 1))
    assert (result.args, result.kwargs, result.queue) == ([T0 + 1, 7], {"k": "v"}, "ticks")
    assert Scheduler(bridge).run_once(now=T0 + 1.9) == []


def test_racing_schedulers_enqueue_each_tick_once(bridge: taskbridge.Bridge) -> None:
    """Eight schedulers racing on the same ticks (real threads) produce one execution each."""
    add_every_second(bridge)
    schedulers = [Scheduler(bridge) for _ in range(8)]
    for second in range(1, 6):
        barrier = threading.Barrier(len(schedulers))

        def race(scheduler: Scheduler, barrier: threading.Barrier, now: float) -> None:
            barrier.wait()
            scheduler.run_once(now=now)

        threads = [threading.Thread(target=race, args=(s, barrier, T0 + second + 0.5))
                   for s in schedulers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    keys = sorted(r.idempotency_key or "" for r in bridge.list(task_name=record_tick.name))
    assert keys == [tick_key("s", T0 + s) for s in range(1, 6)]


def test_failed_tick_is_not_enqueued_again(bridge: taskbridge.Bridge) -> None:
    """A tick that FAILED (releasing its key) is not re-sent by a slower scheduler."""
    bridge.schedules.add("f", failing_tick, Every(seconds=1))
    bridge.store.put_schedule("f", dict(bridge.store.get_schedule("f") or {}, since=T0))
    Scheduler(bridge).run_once(now=T0 + 1.1)
    bridge.drive()
    [failed] = bridge.list(task_name=failing_tick.name)
    assert failed.status is Status.FAILED
    assert Scheduler(bridge).run_once(now=T0 + 1.8) == []
    assert bridge.count(task_name=failing_tick.name) == 1


def test_after_downtime_only_the_latest_tick_runs(bridge: taskbridge.Bridge) -> None:
    """Ticks missed while no scheduler ran are skipped, except the latest one."""
    add_every_second(bridge)
    scheduler = Scheduler(bridge)
    scheduler.run_once(now=T0 + 1.5)
    [sent] = scheduler.run_once(now=T0 + 3600.5)
    assert sent.tick == T0 + 3600


def test_catch_up_runs_missed_ticks_up_to_the_bound(bridge: taskbridge.Bridge) -> None:
    """With catch_up, the missed ticks run in order, at most MAX_CATCH_UP of them."""
    add_every_second(bridge, catch_up=True)
    scheduler = Scheduler(bridge)
    scheduler.run_once(now=T0 + 1.5)
    assert [s.tick for s in scheduler.run_once(now=T0 + 10.5)] == list(range(T0 + 2, T0 + 11))
    caught = [s.tick for s in scheduler.run_once(now=T0 + 3600.5)]
    assert caught == list(range(T0 + 3601 - MAX_CATCH_UP, T0 + 3601))


def test_paused_schedule_skips_its_ticks(bridge: taskbridge.Bridge) -> None:
    """A paused schedule enqueues nothing; resuming does not replay the paused ticks."""
    add_every_second(bridge, catch_up=True)
    bridge.schedules.pause("s")
    assert Scheduler(bridge).run_once(now=T0 + 5.5) == []
    bridge.schedules.resume("s")
    assert Scheduler(bridge).run_once(now=time.time()) == []


def test_due_ticks_after_a_long_downtime_are_quick() -> None:
    """Finding the latest due tick after a year offline does not walk every tick."""
    entry = ScheduleEntry(name="x", task="t", schedule=Cron("* * * * * *"), since=T0)
    assert due_ticks(entry, T0 + 365 * 86400 + 0.5) == [T0 + 365 * 86400]


def test_unregistered_task_is_logged_not_fatal(
    bridge: taskbridge.Bridge, caplog: pytest.LogCaptureFixture
) -> None:
    """A schedule naming a task this process does not know is skipped with one warning."""
    bridge.schedules.add("ghost", "nowhere.task", Every(seconds=1))
    scheduler = Scheduler(bridge)
    with caplog.at_level(logging.WARNING, logger="taskbridge.scheduler"):
        assert scheduler.run_once(now=time.time() + 2) == []
        assert scheduler.run_once(now=time.time() + 3) == []
    assert [r.message.count("nowhere.task") > 0 for r in caplog.records] == [True]


def test_an_unreadable_stored_schedule_is_skipped_with_one_warning(
    bridge: taskbridge.Bridge, caplog: pytest.LogCaptureFixture
) -> None:
    """A stored schedule that cannot be read is left out of the listing, with one warning,
    and the scheduler still runs the others."""
    add_every_second(bridge, "good")
    bridge.store.put_schedule("broken", {"task": record_tick.name})  # no "schedule" field
    scheduler = Scheduler(bridge)
    with caplog.at_level(logging.WARNING, logger="taskbridge.schedules"):
        assert [e.name for e in bridge.schedules.list()] == ["good"]
        [sent] = scheduler.run_once(now=T0 + 1.5)
        assert scheduler.seconds_until_next(now=T0 + 1.5) >= 0
    assert sent.schedule == "good"
    assert [r.getMessage() for r in caplog.records] == [
        "skipping unreadable schedule 'broken': stored schedule 'broken' lacks 'schedule'"
    ]


def test_running_scheduler_picks_up_changes_and_stops(bridge: taskbridge.Bridge) -> None:
    """A running scheduler sees a schedule added after it started, and stops on request."""
    stop = threading.Event()
    thread = threading.Thread(target=Scheduler(bridge).run, args=(stop,))
    thread.start()
    try:
        bridge.schedules.add("live", record_tick, Every(seconds=1))
        deadline = time.monotonic() + 5
        while bridge.count(task_name=record_tick.name) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert bridge.count(task_name=record_tick.name) >= 1
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()


def _left_claim(bridge: taskbridge.Bridge, name: str, tick: int, age: float) -> None:
    """Leave a claim as a scheduler that died ``age`` seconds ago before sending the tick."""
    taken = time.time() - age
    assert bridge.store.lease(claim_key(name, tick), "dead-scheduler", now=taken,
                              ttl=TAKEOVER_AFTER)


def test_claim_of_a_live_scheduler_is_respected(bridge: taskbridge.Bridge) -> None:
    """A tick another scheduler has just claimed is left to it."""
    add_every_second(bridge)
    _left_claim(bridge, "s", T0 + 1, age=0.1)
    assert Scheduler(bridge).run_once(now=T0 + 1.5) == []


def test_claim_left_by_a_dead_scheduler_is_taken_over(bridge: taskbridge.Bridge) -> None:
    """A claim older than TAKEOVER_AFTER seconds has expired: the tick is claimed and sent."""
    add_every_second(bridge)
    _left_claim(bridge, "s", T0 + 1, age=TAKEOVER_AFTER + 1)
    scheduler = Scheduler(bridge)
    [sent] = scheduler.run_once(now=T0 + 1.5)
    assert sent.tick == T0 + 1 and not sent.result.deduplicated
    holder = bridge.store.lease_holder(claim_key("s", T0 + 1), now=time.time())
    assert holder == scheduler.id


def test_claim_is_kept_after_the_tick(bridge: taskbridge.Bridge) -> None:
    """The claim is held HOLD_SENT_TICK seconds after the tick is sent, and is no execution."""
    add_every_second(bridge)
    scheduler = Scheduler(bridge)
    [sent] = scheduler.run_once(now=T0 + 1.5)
    claim, now = claim_key("s", T0 + 1), time.time()
    assert bridge.store.lease_holder(claim, now=now + HOLD_SENT_TICK - 5) == scheduler.id
    assert bridge.store.lease_holder(claim, now=now + HOLD_SENT_TICK + 5) is None
    assert [r.id for r in bridge.list()] == [sent.result.id]
