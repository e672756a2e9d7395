"""Helpers for the Celery backend tests: real workers in subprocesses, URLs, cleanup."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from taskbridge_celery.testing import AMQP, amqp_available

from taskbridge import Bridge
from taskbridge.testing.polling import wait_for

HERE = Path(__file__).parent
TASKS_MODULE = "celery_testtasks"


def poll(condition: Callable[[], object], timeout: float = 20.0, what: str = "condition") -> None:
    """Wait until ``condition()`` is truthy, or fail saying what never happened."""
    wait_for(condition, timeout, what)


requires_amqp = pytest.mark.skipif(
    not amqp_available(),
    reason=f"RabbitMQ does not answer on {AMQP[0]}:{AMQP[1]}; start it to run celery+amqp tests",
)


class Worker:
    """``python -m taskbridge worker`` in a subprocess, its output in a log file."""

    def __init__(self, url: str, *, queues: tuple[str, ...] = ("default",), concurrency: int = 1,
                 pool: str | None = None, extra: tuple[str, ...] = ()) -> None:
        self.final_log: str | None = None
        self.log_path = Path(tempfile.mkstemp(prefix="taskbridge-celery-", suffix=".log")[1])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(HERE), *filter(None, [os.environ.get("PYTHONPATH")])]))
        command = [sys.executable, "-m", "taskbridge", "worker", "-v", "--url", url,
                   "--imports", TASKS_MODULE, "-c", str(concurrency)]
        for queue in queues:
            command += ["-q", queue]
        if pool:
            command += ["--pool", pool]
        command += extra
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                            env=env)
        self.wait_for_log(" ready.", timeout=60)

    def log(self) -> str:
        if self.final_log is not None:
            return self.final_log
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float = 20.0) -> None:
        def seen() -> bool:
            if self.process.poll() is not None and text not in self.log():
                raise AssertionError(f"worker exited ({self.process.returncode}):\n{self.log()}")
            return text in self.log()

        poll(seen, timeout, f"{text!r} in the worker's log")

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"worker ignored signal {signum}:\n{self.log()}") from None
        finally:
            self.final_log = self.log()
            if self.process.returncode == 0:
                self.log_path.unlink(missing_ok=True)


def delete_namespace(redis_url: str, namespace: str) -> None:
    """Delete the store's and Celery's keys for ``namespace``; nothing else."""
    client = redis.Redis.from_url(redis_url)
    patterns = (f"{namespace}:*", f"{namespace}.*", f"_kombu.binding.{namespace}.*")
    for pattern in patterns:
        keys = list(client.scan_iter(match=pattern, count=500))
        if keys:
            client.delete(*keys)
    client.close()


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
