"""Tasks the RQ backend's tests enqueue and their worker subprocesses import."""

from __future__ import annotations

import os
import pathlib
import time

from taskbridge import RetryPolicy, TaskContext, task


@task
def add(a: int, b: int) -> int:
    return a + b


@task
def now() -> float:
    """When the task started, as the worker's clock sees it."""
    return time.time()


@task
def pid() -> int:
    return os.getpid()


@task
def crash() -> None:
    os._exit(3)


@task
def sleep_then_touch(seconds: float, started: str) -> str:
    """Write ``started`` once running, sleep, then return."""
    pathlib.Path(started).write_text("started")
    time.sleep(seconds)
    return "finished"


@task(timeout=1)
def too_slow() -> None:
    time.sleep(30)


@task(context=True, retry=RetryPolicy(max_attempts=3, backoff=1.0, factor=1.0, jitter=False))
def fails_once(context: TaskContext) -> int:
    if context.attempt == 1:
        raise RuntimeError("first attempt fails")
    return context.attempt


def touch(path: str) -> None:
    """Not a task: what a hand-made RQ job names to prove whether it ran."""
    pathlib.Path(path).write_text("ran")


@task
def touch_task(path: str) -> None:
    touch(path)


@task(retry=RetryPolicy(max_attempts=2, backoff=0.2, factor=1.0, jitter=False))
def always_fails(word: str) -> None:
    raise ValueError(f"always fails: {word}")
