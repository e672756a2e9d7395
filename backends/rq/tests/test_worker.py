"""Real RQ workers (``taskbridge worker`` subprocesses) running our jobs."""

from __future__ import annotations

import pathlib
import signal

import pytest
from taskbridge import Bridge, Status
from taskbridge.testing.polling import wait_for
from taskbridge.testing.workers import Workers

import rq_test_tasks

pytestmark = pytest.mark.slow


def test_end_to_end_fork_worker(bridge: Bridge, workers: Workers) -> None:
    """A fork worker runs a task in a work horse, not in the worker process itself."""
    proc = workers.start()
    assert rq_test_tasks.add.using(bridge=bridge).enqueue(2, 3).wait(timeout=20) == 5
    horse = rq_test_tasks.pid.using(bridge=bridge).enqueue().wait(timeout=20)
    assert horse != proc.pid


def test_simple_worker_runs_in_the_worker_process(bridge: Bridge, workers: Workers) -> None:
    """--pool simple runs each task inside the worker process (no fork)."""
    proc = workers.start(pool="simple")
    assert rq_test_tasks.pid.using(bridge=bridge).enqueue().wait(timeout=20) == proc.pid


@pytest.mark.parametrize("pool", ["fork", "simple"])
def test_timeout_fails_the_attempt(bridge: Bridge, workers: Workers, pool: str) -> None:
    """timeout= stops a running task with TaskTimeout in both worker modes."""
    workers.start(pool=pool)
    result = rq_test_tasks.too_slow.using(bridge=bridge).enqueue()
    wait_for(lambda: result.refresh().status is Status.FAILED, 20, "FAILED")
    assert result.error is not None and result.error.type == "taskbridge.TaskTimeout"


def test_crash_in_fork_mode_leaves_worker_alive(bridge: Bridge, workers: Workers) -> None:
    """A task that kills its process takes only the horse; the worker runs the next task."""
    proc = workers.start()
    rq_test_tasks.crash.using(bridge=bridge).enqueue()
    assert rq_test_tasks.add.using(bridge=bridge).enqueue(1, 1).wait(timeout=20) == 2
    assert proc.poll() is None


def test_delayed_task_runs_at_its_time(bridge: Bridge, workers: Workers) -> None:
    """A delayed task waits in RQ's scheduler and starts within a second after run_at."""
    workers.start()
    assert rq_test_tasks.add.using(bridge=bridge).enqueue(0, 0).wait(timeout=20) == 0
    result = rq_test_tasks.now.using(bridge=bridge, delay=2.5).enqueue()
    run_at = result.refresh().run_at
    assert run_at is not None
    started = result.wait(timeout=20)
    assert run_at.timestamp() <= started < run_at.timestamp() + 1.5


def test_retry_is_scheduled_and_runs(bridge: Bridge, workers: Workers) -> None:
    """A failed attempt is retried through RQ's scheduler as a new job, and succeeds."""
    workers.start()
    result = rq_test_tasks.fails_once.using(bridge=bridge).enqueue()
    assert result.wait(timeout=20) == 2
    assert result.attempts == 2


def test_several_queues_and_processes(bridge: Bridge, workers: Workers) -> None:
    """-c 2 -q a -q b: a pool of RQ workers consumes both queues."""
    workers.start(concurrency=2, queues=["a", "b"])
    results = [rq_test_tasks.pid.using(bridge=bridge, queue=q).enqueue() for q in "ab" * 3]
    assert all(isinstance(r.wait(timeout=30), int) for r in results)


def test_sigterm_lets_the_current_task_finish(bridge: Bridge, workers: Workers,
                                              tmp_path: pathlib.Path) -> None:
    """SIGTERM during a task: the task finishes and succeeds, then the worker exits 0."""
    proc = workers.start()
    started = tmp_path / "started"
    result = rq_test_tasks.sleep_then_touch.using(bridge=bridge).enqueue(1.5, str(started))
    wait_for(started.exists, 20, "the task to start")
    proc.send_signal(signal.SIGTERM)
    assert result.wait(timeout=20) == "finished"
    assert proc.wait(20) == 0
    # The worker is gone, so the next task waits.
    later = rq_test_tasks.add.using(bridge=bridge).enqueue(1, 1)
    assert later.refresh().status is Status.PENDING
