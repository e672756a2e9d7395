"""The Huey backend end to end, with real `taskbridge worker` processes on SQLite and Redis."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import hueytasks
import pytest
from huey.constants import EmptyData

from taskbridge import Bridge, Status
from taskbridge.testing.polling import wait_for
from taskbridge.testing.workers import Workers

pytestmark = pytest.mark.slow


def test_task_runs_and_result_reads_twice(bridge: Bridge, workers: Workers) -> None:
    """A task runs on a real worker; its status and value come from the store, every read."""
    result = hueytasks.add.using(bridge=bridge).enqueue(2, 3)
    assert result.status is Status.PENDING
    workers.start(bridge.url.raw)
    assert result.wait(timeout=20) == 5
    assert result.refresh().status is Status.SUCCEEDED
    assert bridge.get_result(result.id).value == 5
    assert bridge.get_result(result.id).value == 5
    assert bridge.backend.huey("default").result_count() == 0  # type: ignore[attr-defined]


def test_priority_orders_waiting_tasks(bridge: Bridge, workers: Workers, tmp_path: Path) -> None:
    """With one worker thread started after enqueueing, higher priority runs first, FIFO
    among equals."""
    order = tmp_path / "order.txt"
    labels = [("p0", 0), ("p50a", 50), ("m10", -10), ("p100", 100), ("p50b", 50)]
    results = [
        hueytasks.record_order.using(bridge=bridge, priority=priority).enqueue(str(order), label)
        for label, priority in labels
    ]
    workers.start(bridge.url.raw, concurrency=1)
    for result in results:
        result.wait(timeout=20)
    assert order.read_text().split() == ["p100", "p50a", "p50b", "p0", "m10"]


def test_delay_is_honoured(bridge: Bridge, workers: Workers) -> None:
    """A delayed task waits outside the queue and starts within a second of its time."""
    workers.start(bridge.url.raw)
    asked = time.time()
    result = hueytasks.stamp.using(bridge=bridge, delay=2).enqueue()
    assert bridge.backend.queue_depth("default") == 0
    started = result.wait(timeout=20)
    assert asked + 2 - 0.05 <= started <= asked + 3.0


def test_several_queues_in_one_worker(bridge: Bridge, workers: Workers) -> None:
    """`taskbridge worker -q a -q b` consumes both queues, one Huey consumer each."""
    first = hueytasks.add.using(bridge=bridge, queue="a").enqueue(1, 1)
    second = hueytasks.add.using(bridge=bridge, queue="b.c").enqueue(2, 2)
    worker = workers.start(bridge.url.raw, queues=["a", "b.c"], concurrency=2)
    assert (first.wait(timeout=20), second.wait(timeout=20)) == (2, 4)
    log = worker.output()
    namespace = bridge.backend.namespace  # type: ignore[attr-defined]
    assert f"{namespace}.a" in log and f"{namespace}.b.c" in log


def test_sigterm_lets_the_running_task_finish(
    bridge: Bridge, workers: Workers, tmp_path: Path
) -> None:
    """SIGTERM while a task runs: the task finishes SUCCEEDED and the worker exits 0."""
    marker = tmp_path / "started"
    result = hueytasks.slow.using(bridge=bridge).enqueue(str(marker), 1.5)
    process = workers.start(bridge.url.raw)
    wait_for(marker.exists, what="the task to start")
    process.send_signal(signal.SIGTERM)
    assert process.wait(15) == 0
    assert result.refresh().status is Status.SUCCEEDED
    assert result.value == "finished"


def test_registered_tasks_are_listed_by_huey(bridge: Bridge, workers: Workers) -> None:
    """Every taskbridge task is in Huey's registry under its own name, as Huey's consumer
    lists it at startup."""
    huey = bridge.backend.huey("default")  # type: ignore[attr-defined]
    assert {"hueytasks.add", "hueytasks.slow"} <= set(huey.task_names())
    worker = workers.start(bridge.url.raw)
    wait_for(lambda: "+ hueytasks.add" in worker.output(), what="Huey's command list")


def test_cancel_never_runs_and_leaves_nothing_in_huey(bridge: Bridge, workers: Workers) -> None:
    """A canceled waiting task never runs and stays CANCELED: the store refuses it when its
    message comes by, and no Huey revoke flag is written (or read for every task)."""
    result = hueytasks.add.using(bridge=bridge, delay=1).enqueue(1, 2)
    result.cancel()
    huey = bridge.backend.huey("default")  # type: ignore[attr-defined]
    assert huey.storage.peek_data(f"r:{result.id}") is EmptyData
    worker = workers.start(bridge.url.raw)
    wait_for(lambda: f"not running hueytasks.add [{result.id}]" in worker.output(),
             what="the worker to refuse the canceled task's message")
    assert result.refresh().status is Status.CANCELED
    assert result.attempts == 0
