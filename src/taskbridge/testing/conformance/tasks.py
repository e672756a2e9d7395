"""The tasks the conformance suite runs; workers import this module with ``--imports``.

Names are fixed (``conformance.*``) so every process agrees on them. State a test needs to see
travels through the store (attempt numbers, progress, results), never through module globals:
workers are other processes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
from typing import Any, ParamSpec, TypeVar

from taskbridge import Every, Retry, RetryPolicy, TaskContext, periodic, task
from taskbridge.testing.recorder import install_from_environment

P = ParamSpec("P")
R = TypeVar("R")

#: Upper bound on how long any conformance task keeps running, so no test can hang a worker.
MAX_SECONDS = 60.0


@task(name="conformance.add")
def add(a: int, b: int = 0) -> int:
    return a + b


@task(name="conformance.async_add")
async def async_add(a: int, b: int = 0) -> int:
    await asyncio.sleep(0)
    return a + b


@task(name="conformance.echo")
def echo(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {"args": list(args), "kwargs": kwargs}


@task(context=True, name="conformance.whoami")
def whoami(context: TaskContext) -> dict[str, Any]:
    return {"id": context.id, "attempt": context.attempt, "max_attempts": context.max_attempts}


@task(name="conformance.fail")
def fail(message: object = "boom") -> None:
    raise ValueError(f"conformance failure: {message}")


@task(
    name="conformance.fail_with_backoff",
    retry=RetryPolicy(max_attempts=3, backoff=1.0, factor=2.0, jitter=False),
)
def fail_with_backoff() -> None:
    raise RuntimeError("fails on every attempt")


@task(context=True,
    name="conformance.flaky",
    retry=RetryPolicy(max_attempts=3, backoff=0.1, factor=1.0, jitter=False),
)
def flaky(context: TaskContext, succeed_on: int) -> int:
    """Fails while ``context.attempt < succeed_on``; returns the attempt that succeeded."""
    if context.attempt < succeed_on:
        raise ConnectionError(f"attempt {context.attempt} fails on purpose")
    return context.attempt


@task(context=True, name="conformance.retry_later", retry=RetryPolicy(max_attempts=2))
def retry_later(context: TaskContext, delay: float) -> int:
    """Asks for a second attempt ``delay`` seconds later with ``raise Retry(delay=...)``."""
    if context.attempt == 1:
        raise Retry(delay=delay)
    return context.attempt


@task(
    name="conformance.not_retried",
    retry=RetryPolicy(max_attempts=3, backoff=0.1, dont_retry_on=(ValueError,)),
)
def not_retried() -> None:
    raise ValueError("listed in dont_retry_on")


@task(name="conformance.bad_return")
def bad_return() -> Any:
    return {"when": dt.datetime(2024, 1, 1, tzinfo=dt.UTC)}


@task(name="conformance.sleep")
def sleep(seconds: float) -> float:
    time.sleep(min(seconds, MAX_SECONDS))
    return seconds


@task(name="conformance.async_sleep")
async def async_sleep(seconds: float) -> float:
    await asyncio.sleep(min(seconds, MAX_SECONDS))
    return seconds


@task(name="conformance.hang")
def hang(seconds: float) -> str:
    """Runs long enough for a test to kill its worker; one attempt only."""
    time.sleep(min(seconds, MAX_SECONDS))
    return "survived"


@task(context=True, name="conformance.hang_once", retry=RetryPolicy(max_attempts=2))
def hang_once(context: TaskContext, seconds: float) -> int:
    """Runs long on the first attempt (to be killed), returns at once on the next."""
    if context.attempt == 1:
        time.sleep(min(seconds, MAX_SECONDS))
    return context.attempt


@task(context=True, name="conformance.cooperative")
def cooperative(context: TaskContext, seconds: float) -> str:
    """Works in small steps for up to ``seconds``, reporting progress and stopping when
    canceled (``raise_if_canceled``: the execution ends CANCELED)."""
    steps = max(1, int(min(seconds, MAX_SECONDS) / 0.05))
    for step in range(steps):
        context.raise_if_canceled()
        context.set_progress(100 * step / steps, f"step {step}")
        time.sleep(0.05)
    return "finished"


@task(context=True, name="conformance.progress")
def progress(context: TaskContext, hold: float) -> str:
    """Reports 40%, holds ``hold`` seconds so others can see it, then reports 100%."""
    context.set_progress(40, "loaded sheet")
    time.sleep(min(hold, MAX_SECONDS))
    context.set_progress(100, "done")
    return "done"


def _user_key(user_id: int, *args: Any, **kwargs: Any) -> str:
    return f"conformance-user:{user_id}"


@task(name="conformance.keyed", idempotency_key=_user_key)
def keyed(user_id: int, token: str = "") -> str:
    return f"{user_id}:{token}"


@task(name="conformance.record_start")
def record_start(label: str) -> str:
    """Returns its label; the record's ``started_at`` tells the order tasks started in."""
    time.sleep(0.05)  # keeps started_at values of a one-at-a-time worker apart
    return label


@task(name="conformance.chain_tail")
def chain_tail(value: Any) -> Any:
    return value


@task(name="conformance.gate")
def gate(value: Any, path: str) -> Any:
    """Passes ``value`` on once a file exists at ``path``; fails (for good) until then."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"gate closed: {path} does not exist yet")
    return value


@task(name="conformance.allocate")
def allocate(megabytes: int, seconds: float = 0.0) -> int:
    """Holds ``megabytes`` of touched memory, burns about ``seconds`` of CPU, frees it all."""
    block = bytearray(megabytes * 1024 * 1024)
    for at in range(0, len(block), 4096):
        block[at] = 1
    deadline = time.thread_time() + min(seconds, MAX_SECONDS)
    while time.thread_time() < deadline:
        pass
    return len(block)


@task(name="conformance.tick")
def tick(timestamp: int, label: str = "") -> list[Any]:
    """A periodic task: receives the tick's Unix timestamp first."""
    return [timestamp, label]


@periodic(Every(hours=24), name="conformance.daily", kwargs={"label": "daily"})
@task(name="conformance.daily")
def daily(timestamp: int, label: str = "") -> list[Any]:
    return [timestamp, label]


install_from_environment()
