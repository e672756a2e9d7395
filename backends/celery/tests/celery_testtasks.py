"""Tasks the Celery backend's tests run in real worker processes."""

from __future__ import annotations

import time

import redis

from taskbridge import task


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
