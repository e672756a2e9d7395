"""The two sides of every comparison: taskbridge over an engine, and that engine used directly."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, Protocol

from benchmarks.workers import taskbridge_worker_argv


class Side(Protocol):
    """What the harness does through one side; ``i`` is the task's argument."""

    def enqueue(self, i: int) -> None: ...
    def enqueue_bulk(self, start: int, count: int) -> None: ...
    def round_trip(self, i: int, timeout: float) -> None: ...
    def worker_argv(self, concurrency: int) -> list[str]: ...
    def worker_env(self) -> dict[str, str]: ...
    def close(self) -> None: ...


class NativeSide(Side, Protocol):
    #: The native calls measured, as the report names them.
    single_api: str
    bulk_api: str
    result_api: str
    worker_desc: str


class TaskbridgeSide:
    """taskbridge through a ``Bridge`` on ``url``: the same public API a user calls."""

    single_api = "task.enqueue(i)"
    bulk_api = "task.enqueue_many(calls)"
    result_api = "Result.wait()"

    def __init__(self, url: str, *, pool: str | None, key_prefix: str) -> None:
        from benchmarks.workload import noop
        from taskbridge import Bridge

        self.url = url
        self.pool = pool
        self.bridge = Bridge(url, imports=["benchmarks.workload"])
        self.task = noop.using(bridge=self.bridge)
        self._key_prefix = key_prefix

    @property
    def worker_desc(self) -> str:
        return f"taskbridge worker --pool {self.pool}" if self.pool else "taskbridge worker"

    def enqueue(self, i: int) -> None:
        self.task.enqueue(i)

    def enqueue_keyed(self, i: int) -> None:
        """An enqueue with a fresh idempotency key (claimed, never a duplicate)."""
        self.task.using(idempotency_key=f"{self._key_prefix}:{i}").enqueue(i)

    def enqueue_bulk(self, start: int, count: int) -> None:
        self.task.enqueue_many([(i,) for i in range(start, start + count)])

    def round_trip(self, i: int, timeout: float) -> None:
        value = self.task.enqueue(i).wait(timeout=timeout)
        check_value(value, i, "taskbridge")

    def worker_argv(self, concurrency: int) -> list[str]:
        return taskbridge_worker_argv(self.url, concurrency=concurrency, pool=self.pool)

    def worker_env(self) -> dict[str, str]:
        return {}

    def close(self) -> None:
        self.bridge.close()


def check_value(value: Any, expected: int, side: str) -> None:
    if value != expected:
        raise AssertionError(f"{side} round trip returned {value!r}, expected {expected!r}")


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def chunks(start: int, count: int, size: int) -> Sequence[range]:
    return [range(s, min(s + size, start + count)) for s in range(start, start + count, size)]
