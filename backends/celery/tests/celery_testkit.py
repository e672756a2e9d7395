"""Helpers for the Celery backend tests: real workers in subprocesses, URLs, polling."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from taskbridge_celery.testing import AMQP, amqp_available

from taskbridge import Bridge
from taskbridge.testing.polling import wait_for
from taskbridge.testing.workers import WorkerProcess, Workers

HERE = Path(__file__).parent
TASKS_MODULE = "celery_testtasks"


def poll(condition: Callable[[], object], timeout: float = 20.0, what: str = "condition") -> None:
    """Wait until ``condition()`` is truthy, or fail saying what never happened."""
    wait_for(condition, timeout, what)


requires_amqp = pytest.mark.skipif(
    not amqp_available(),
    reason=f"RabbitMQ does not answer on {AMQP[0]}:{AMQP[1]}; start it to run celery+amqp tests",
)


def start_worker(
    workers: Workers, url: str, *, queues: tuple[str, ...] = ("default",), concurrency: int = 1,
    pool: str | None = None, args: Sequence[str] = (),
) -> WorkerProcess:
    """A real Celery worker on ``url``, once it is in the store and Celery says it is ready."""
    worker = workers.start(url, queues=queues, concurrency=concurrency, pool=pool, args=args)
    worker.wait_for_output(" ready.", timeout=60)
    return worker


def workers_in(workdir: Path) -> Workers:
    """A worker runner for these tests: their tasks module, verbose logs."""
    return Workers(workdir, imports=[TASKS_MODULE], pythonpath=[HERE], args=["-v"])


def redis_backend_url(redis_url: str, namespace: str, **options: object) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"namespace": namespace, **options}.items())
    return f"celery+{redis_url}?{query}"


def amqp_backend_url(redis_url: str, namespace: str) -> str:
    return (f"celery+amqp://guest:guest@{AMQP[0]}:{AMQP[1]}//?store={redis_url}"
            f"&namespace={namespace}")


def make_bridge(url: str) -> Bridge:
    return Bridge(url, imports=[TASKS_MODULE])


class CapturedEvents:
    """Celery's events as a monitor receives them (Flower, ``celery events``), captured in a
    thread from the moment a worker's heartbeat shows the receiver is listening."""

    def __init__(self, app: Celery) -> None:
        self.events: list[dict[str, Any]] = []
        self._receiver: Any = None
        self._thread = threading.Thread(target=self._capture, args=(app,), daemon=True)
        self._thread.start()
        poll(lambda: any(e["type"] == "worker-heartbeat" for e in list(self.events)),
             timeout=20, what="a worker heartbeat event")

    def _capture(self, app: Celery) -> None:
        with app.connection_for_read() as connection:
            self._receiver = app.events.Receiver(connection, handlers={"*": self.events.append})
            self._receiver.capture(limit=None, timeout=None, wakeup=False)

    def of(self, uuid: str) -> list[dict[str, Any]]:
        """The task events for one task id, in the order they arrived."""
        return [e for e in list(self.events) if e.get("uuid") == uuid]

    def types(self, uuid: str) -> list[str]:
        return [e["type"] for e in self.of(uuid)]

    def close(self) -> None:
        if self._receiver is not None:
            self._receiver.should_stop = True
        self._thread.join(10)
