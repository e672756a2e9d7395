"""Several ``taskbridge scheduler`` processes on one huey+sqlite store: each tick exactly once.

Three real scheduler processes run a one-second schedule for about ten seconds; one of them is
SIGKILLed midway. Every tick between the first and the last must have exactly one execution
record (key ``schedule:<name>:<tick>``). In the "failing" variant this test plays a very fast
worker that fails every tick as soon as it appears, releasing its idempotency key: a slower
scheduler must still not enqueue that tick again.
"""

from __future__ import annotations

import signal
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

import taskbridge
from taskbridge import Status
from taskbridge._record import ErrorInfo
from taskbridge._schedules.values import Every
from taskbridge.testing.workers import Workers

pytestmark = pytest.mark.slow
TASK = "sched_probe.tick"
RUN_SECONDS = 10.0


def _fail_new_ticks(bridge: taskbridge.Bridge, stop: threading.Event) -> None:
    """Act as a worker whose every tick fails at once, releasing the tick's key."""
    store = bridge.store
    while not stop.is_set():
        for record in bridge.store.list(taskbridge.RecordFilter(status=Status.PENDING,
                                                                task_name=TASK)):
            now = time.time()
            if store.start(record.id, 1, worker="probe", now=now) is not None:
                store.finish(record.id, 1, Status.FAILED, now=now, idempotency_ttl=86400,
                             error=ErrorInfo("RuntimeError", "tick failed"))
        stop.wait(0.02)


@pytest.mark.parametrize("ticks_fail", [False, True], ids=["pending", "failing"])
def test_three_schedulers_enqueue_each_tick_exactly_once(
    tmp_path: Path, ticks_fail: bool
) -> None:
    """3 schedulers, one SIGKILLed midway: every tick enqueued once, none missed."""
    (tmp_path / "sched_probe.py").write_text(textwrap.dedent(f"""
        from taskbridge import task

        @task(name={TASK!r})
        def tick(timestamp):
            return timestamp
    """))
    url = f"huey+sqlite:///{tmp_path / 'tasks.db'}"
    bridge = taskbridge.Bridge(url)
    bridge.schedules.add("every-second", TASK, Every(seconds=1))
    stop_failing = threading.Event()
    failer = threading.Thread(target=_fail_new_ticks, args=(bridge, stop_failing))
    if ticks_fail:
        failer.start()
    runner = Workers(tmp_path, url=url, imports=["sched_probe"], pythonpath=[tmp_path])
    schedulers = [runner.start_scheduler() for _ in range(3)]
    try:
        deadline = time.monotonic() + 30
        while bridge.count(task_name=TASK) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert bridge.count(task_name=TASK) > 0, "no scheduler enqueued anything"
        started = time.time()
        time.sleep(RUN_SECONDS / 2)
        schedulers[0].send_signal(signal.SIGKILL)
        killed_at = time.time()
        time.sleep(RUN_SECONDS / 2)
        ended = time.time()
    finally:
        for process in schedulers[1:]:
            process.send_signal(signal.SIGTERM)
        codes = [p.wait(timeout=15) for p in schedulers]
        runner.stop_all()
        stop_failing.set()
        if ticks_fail:
            failer.join()
    assert codes == [-signal.SIGKILL, 0, 0]

    records = bridge.list(task_name=TASK, limit=10_000)
    ticks = Counter(r.args[0] for r in records)
    assert all(r.idempotency_key == f"schedule:every-second:{r.args[0]}" for r in records)
    first, last = min(ticks), max(ticks)
    expected = set(range(first, last + 1))
    duplicates = {t: n for t, n in ticks.items() if n > 1}
    missed = sorted(expected - set(ticks))
    print(f"\nmulti-scheduler ({'failing' if ticks_fail else 'pending'} ticks): "
          f"{len(expected)} ticks expected, {len(records)} enqueued, "
          f"{len(duplicates)} duplicated, {len(missed)} missed; "
          f"one scheduler SIGKILLed {killed_at - started:.1f}s in")
    assert duplicates == {}
    assert missed == []
    assert first <= started and last >= ended - 1.5
    assert {r.status for r in records} == {Status.FAILED if ticks_fail else Status.PENDING}
    bridge.close()
