"""Fixtures for the Celery backend tests: a Redis URL, unique namespaces, tracking keys, and
a module-wide bridge and worker for modules that define a ``url`` fixture."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

# The tests run in pytest's importlib mode; workers import the tasks module from this folder too.
sys.path.insert(0, str(Path(__file__).parent))

from celery_testkit import Worker, delete_namespace, make_bridge

from taskbridge import Bridge
from taskbridge.testing.redis_server import test_redis_url, unique_prefix


@pytest.fixture(scope="module")
def redis_url() -> str:
    return test_redis_url()


@pytest.fixture(scope="module")
def namespace(redis_url: str) -> Iterator[str]:
    name = unique_prefix("celery")
    yield name
    delete_namespace(redis_url, name)


@pytest.fixture()
def tracker(redis_url: str, namespace: str) -> Iterator[tuple[str, str]]:
    """``(redis_url, key)``: a key tasks write to so the test sees what really ran."""
    key = f"{namespace}:track:{unique_prefix('k')}"
    yield redis_url, key
    redis.Redis.from_url(redis_url).delete(key)


@pytest.fixture(scope="module")
def bridge(url: str) -> Iterator[Bridge]:
    """A bridge on the module's ``url``."""
    made = make_bridge(url)
    yield made
    made.close()


@pytest.fixture(scope="module")
def worker(url: str) -> Iterator[Worker]:
    """One real Celery worker (concurrency 2) on the module's ``url``, for the whole module."""
    started = Worker(url, concurrency=2)
    yield started
    assert started.stop() == 0, started.log()
