"""Redis restarts under load: producers see EnqueueError, workers reconnect, no task is lost.

Each case runs a private ``redis-server`` with an fsync-always append-only file (the production
setup in which a restart keeps records and queues), one real ``taskbridge worker`` process and
a producer thread enqueueing in a loop; Redis is stopped for a few seconds and started again on
the same port.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from taskbridge_celery.testing import delete_amqp_entities

from taskbridge import Bridge, EnqueueError, Result, Status
from taskbridge.testing.polling import wait_for
from taskbridge.testing.redis_server import (
    bring_up_private_server,
    start_private_server,
    stop_private_server,
    take_down_private_server,
    unique_prefix,
)
from taskbridge.testing.workers import Workers

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

import fault_tasks  # noqa: E402
from fault_engines import ENGINES, backend_url  # noqa: E402

# One at a time (on one xdist worker): two Redis outages at once would only add noise.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("faults")]

OUTAGE = 3.0


@dataclass
class Producer:
    """Enqueues ``fault_tasks.echo`` in a loop from a thread, keeping every outcome."""

    bridge: Bridge
    results: list[tuple[float, Result]] = field(default_factory=list)
    errors: list[tuple[float, float, BaseException]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._loop, name="producer", daemon=True)

    def _loop(self) -> None:
        echo = fault_tasks.echo.using(bridge=self.bridge)
        n = 0
        while not self.stop.is_set():
            n += 1
            began = time.monotonic()
            try:
                result = echo.enqueue(n)
            except Exception as exc:  # kept and checked: only EnqueueError is allowed
                self.errors.append((began, time.monotonic(), exc))
            else:
                self.results.append((time.monotonic(), result))
            self.stop.wait(0.02)

    def returned_since(self, moment: float) -> list[Result]:
        return [r for at, r in list(self.results) if at > moment]


@pytest.fixture()
def redis_url() -> Iterator[str]:
    url = start_private_server(appendonly=True)
    yield url
    stop_private_server(url)


@pytest.fixture()
def workers(tmp_path: Path) -> Iterator[Workers]:
    """Real worker processes with a short heartbeat, which send a task whose message the
    outage lost (kombu's pop landed, its unacked bookkeeping did not) 2 s past due."""
    with Workers(tmp_path, imports=["fault_tasks"], pythonpath=[HERE], args=["-v"],
                 env={"TASKBRIDGE_HEARTBEAT_INTERVAL": "0.5",
                      "TASKBRIDGE_UNSENT_GRACE": "2"}) as started:
        yield started


def final_or_none(result: Result) -> Status | None:
    try:
        status = result.refresh().status
    except Exception:  # the store may still be coming back
        return None
    return status if status.is_final else None


@pytest.mark.parametrize("concurrency", [1, 2])
@pytest.mark.parametrize("engine", ENGINES)
def test_redis_restart_under_load_loses_no_enqueued_task(
    engine: str, concurrency: int, redis_url: str, workers: Workers
) -> None:
    """While Redis is down enqueue raises EnqueueError only; afterwards the same worker process
    runs new tasks and every task whose enqueue returned ends in a final state."""
    namespace = unique_prefix("fault")
    url = backend_url(engine, redis_url, namespace)
    bridge = Bridge(url, imports=["fault_tasks"])
    worker = workers.start(url, concurrency=concurrency, bridge=bridge, timeout=30)
    producer = Producer(bridge)

    def log() -> str:
        return worker.output(tail=6000)

    def worker_alive_and(condition: Callable[[], Any]) -> Callable[[], Any]:
        def check() -> Any:
            assert worker.poll() is None, f"the worker exited ({worker.returncode}):\n{log()}"
            return condition()

        return check

    try:
        fault_tasks.echo.using(bridge=bridge).enqueue(0).wait(timeout=30)

        producer.thread.start()
        wait_for(lambda: len(producer.results) >= 10, 10, "10 enqueues before the outage")
        down_at = time.monotonic()
        take_down_private_server(redis_url)
        time.sleep(OUTAGE)  # the outage itself: the producer keeps trying meanwhile
        bring_up_private_server(redis_url)
        up_at = time.monotonic()

        after = wait_for(lambda: producer.returned_since(up_at), 20, "an enqueue after restart")
        first_back = time.monotonic() - up_at
        wait_for(worker_alive_and(lambda: final_or_none(after[0])), 20,
                 "the first task after restart to finish")
        recovered = time.monotonic() - up_at
        wait_for(worker_alive_and(lambda: len(producer.returned_since(up_at)) >= 10), 10,
                 "10 enqueues after the restart")
        producer.stop.set()
        producer.thread.join(30)
        assert not producer.thread.is_alive(), "the producer is stuck in enqueue"

        assert worker.poll() is None, f"the worker exited during the outage:\n{log()}"
        wrong = [e for *_, e in producer.errors if not isinstance(e, EnqueueError)]
        assert not wrong, f"enqueue raised something other than EnqueueError: {wrong!r}"
        assert producer.errors, "no enqueue failed while Redis was down"
        early = [(end - down_at, e) for _, end, e in producer.errors if end < down_at]
        assert not early, f"enqueue failed while Redis was up: {early!r}"

        results = [r for _, r in producer.results]
        deadline = time.monotonic() + 20
        unfinished = results
        while unfinished and time.monotonic() < deadline and worker.poll() is None:
            unfinished = [r for r in unfinished if final_or_none(r) is None]
            time.sleep(0.1)
        assert not unfinished, (
            f"{len(unfinished)} of {len(results)} enqueued tasks never finished, e.g. "
            f"{[(r.id, r.status.value) for r in unfinished[:5]]}:\n{log()}"
        )
        statuses = {r.id: r.status for r in results}
        for result in producer.returned_since(up_at):
            assert statuses[result.id] is Status.SUCCEEDED, (result.id, result.error)
        for result in results:
            if result.status is Status.FAILED:
                assert result.error is not None and result.error.message, result.id
            else:
                assert result.status is Status.SUCCEEDED, (result.id, result.status)
        failed = [r for r in results if r.status is Status.FAILED]
        reasons = sorted({r.error.message for r in failed if r.error})
        print(f"\n{engine} -c {concurrency}: {len(results)} enqueued, "
              f"{len(producer.errors)} EnqueueError(s) during a {OUTAGE:g}s outage, "
              f"{len(results) - len(failed)} succeeded, {len(failed)} failed {reasons}; first "
              f"enqueue back after {first_back:.2f}s, first task done after {recovered:.2f}s")
    finally:
        producer.stop.set()
        code = workers.stop(worker)
        bridge.close()
        if engine == "celery+amqp":
            delete_amqp_entities(namespace, ["default"])
    assert code == 0, f"the worker did not stop cleanly on SIGTERM (exit {code}):\n{log()}"


@pytest.mark.parametrize("engine", ENGINES)
def test_enqueue_while_redis_is_down_writes_nothing(engine: str, redis_url: str) -> None:
    """An enqueue refused because Redis is down leaves no record and no claimed idempotency key."""
    namespace = unique_prefix("fault")
    bridge = Bridge(backend_url(engine, redis_url, namespace), imports=["fault_tasks"])
    echo = fault_tasks.echo.using(bridge=bridge, idempotency_key=f"{namespace}:key")
    try:
        take_down_private_server(redis_url)
        with pytest.raises(EnqueueError):
            echo.enqueue(1)
        bring_up_private_server(redis_url)
        assert bridge.count() == 0
        result = echo.enqueue(1)
        assert not result.deduplicated
        assert bridge.count() == 1
    finally:
        bridge.close()
        if engine == "celery+amqp":
            delete_amqp_entities(namespace, ["default"])
