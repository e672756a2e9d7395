"""Tasks the Celery backend's tests run in real worker processes."""

from __future__ import annotations

import time

import redis

from taskbridge import RetryPolicy, task


@task
def add(a: int, b: int) -> int:
    return a + b


@task
def count_run(redis_url: str, key: str) -> int:
    """Counts its own executions in Redis, so a test can tell how often it really ran."""
    return int(redis.Redis.from_url(redis_url).incr(key))


@task
def note(redis_url: str, key: str, label: str) -> str:
    """Appends ``label`` to a Redis list: the order of these is the order tasks ran in."""
    redis.Redis.from_url(redis_url).rpush(key, label)
    return label


@task
def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@task(retry=RetryPolicy(max_attempts=2, backoff=0.2, factor=1.0, jitter=False))
def always_fails(redis_url: str, key: str) -> None:
    """Counts its runs in Redis, then fails: a test sees how often it really ran."""
    redis.Redis.from_url(redis_url).incr(key)
    raise ValueError("always fails")
