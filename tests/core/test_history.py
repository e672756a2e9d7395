"""What a record remembers of a run: the progress log and the attempt history, with the CPU
time and peak memory each attempt used (issue 9 item 24, issue 10 item 2)."""

from __future__ import annotations

import threading
import time

import attrs
import pytest

import taskbridge
from taskbridge import Attempt, Envelope, ProgressEntry, RetryPolicy, Status, TaskContext, task
from taskbridge._execution import recover_lost
from taskbridge._record import PROGRESS_LOG_SIZE
from taskbridge._usage import measured
from taskbridge.plugin import record_for

from .conftest import run_all

MiB = 1024 * 1024


@task(context=True, name="history.report")
def report(context: TaskContext, count: int) -> int:
    for n in range(count):
        context.set_progress(100 * n / count, f"row {n}")
    return count


@task(context=True, name="history.flaky",
      retry=RetryPolicy(max_attempts=3, backoff=0.0, jitter=False))
def flaky(context: TaskContext) -> int:
    if context.attempt < 3:
        raise ConnectionError(f"attempt {context.attempt} fails on purpose")
    return context.attempt


@task(name="history.hold")
def hold(megabytes: int) -> int:
    block = bytearray(megabytes * MiB)
    for at in range(0, len(block), 4096):
        block[at] = 1
    return len(block)


def test_progress_log_keeps_the_latest_reports(bridge: taskbridge.Bridge) -> None:
    """result.progress_log has the latest PROGRESS_LOG_SIZE reports, oldest first, each with
    its time; result.progress is the latest."""
    result = report.using(bridge=bridge).enqueue(PROGRESS_LOG_SIZE + 10)
    before = time.time()
    run_all(bridge)
    log = result.refresh().progress_log
    assert len(log) == PROGRESS_LOG_SIZE and all(isinstance(p, ProgressEntry) for p in log)
    assert [p.message for p in log] == [f"row {n}" for n in range(10, PROGRESS_LOG_SIZE + 10)]
    assert before <= log[0].at <= log[-1].at <= time.time()
    assert result.progress == (log[-1].percent, log[-1].message)


def test_attempt_history_has_one_entry_per_attempt(bridge: taskbridge.Bridge) -> None:
    """Each attempt keeps its worker, times, outcome and error; the values are frozen."""
    result = flaky.using(bridge=bridge).enqueue()
    run_all(bridge)
    history = result.refresh().attempt_history
    assert [(a.attempt, a.outcome) for a in history] == [
        (1, "RETRYING"), (2, "RETRYING"), (3, "SUCCEEDED")]
    assert [a.error.message if a.error else None for a in history] == [
        "attempt 1 fails on purpose", "attempt 2 fails on purpose", None]
    assert all(isinstance(a, Attempt) and a.worker for a in history)
    times = [t for a in history for t in (a.started_at, a.finished_at)]
    assert times == sorted(times) and None not in times
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        history[0].outcome = "SUCCEEDED"  # type: ignore[misc]


def test_an_attempt_lost_with_its_worker_is_in_the_history(bridge: taskbridge.Bridge) -> None:
    """Crash recovery ends the silent attempt's entry with the WorkerLost error."""
    [record] = bridge.store.create(
        [record_for(Envelope(
            id="lost", task_name="history.hold", args=(1,), max_attempts=1, enqueued_at=1.0))],
        now=1.0, idempotency_ttl=60.0)
    bridge.store.start(record.id, 1, worker="dead:1:1", now=time.time() - 60)
    recover_lost(bridge)
    [attempt] = bridge.get_result("lost").attempt_history
    assert (attempt.worker, attempt.outcome) == ("dead:1:1", "FAILED")
    assert attempt.error is not None and attempt.error.type == "taskbridge.WorkerLost"


def test_an_attempt_alone_in_its_process_measures_cpu_and_peak_memory(
    bridge: taskbridge.Bridge,
) -> None:
    """An attempt running alone records CPU seconds and at least the memory it held."""
    result = hold.using(bridge=bridge).enqueue(64)
    run_all(bridge)
    [attempt] = result.refresh().attempt_history
    assert attempt.cpu_time is not None and attempt.cpu_time > 0
    assert attempt.peak_memory is not None and attempt.peak_memory >= 64 * MiB


def test_attempts_side_by_side_measure_cpu_per_thread_and_no_memory() -> None:
    """Two attempts overlapping in one process each get their own thread's CPU time, and no
    peak memory (the process's peak belongs to both)."""
    meters = []
    inside = threading.Barrier(2)

    def attempt(burn: float) -> None:
        with measured() as meter:
            inside.wait()
            deadline = time.thread_time() + burn
            while time.thread_time() < deadline:
                pass
            inside.wait()
        meters.append((burn, meter.usage))

    threads = [threading.Thread(target=attempt, args=(burn,)) for burn in (0.05, 0.3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for burn, usage in meters:
        assert usage.peak_memory is None
        assert usage.cpu_time is not None and burn <= usage.cpu_time < burn + 0.2


def test_running_attempt_shows_in_the_history(bridge: taskbridge.Bridge) -> None:
    """While an attempt runs, its entry is there with its worker and start, no outcome."""
    [record] = bridge.store.create(
        [record_for(Envelope(
            id="busy", task_name="history.hold", args=(1,), enqueued_at=1.0))],
        now=1.0, idempotency_ttl=60.0)
    running = bridge.store.start(record.id, 1, worker="w:1:1", now=5.0)
    assert running is not None and running.status is Status.RUNNING
    assert running.attempt_history == (Attempt(1, worker="w:1:1", started_at=5.0),)
