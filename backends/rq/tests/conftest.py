"""Fixtures for the RQ backend's tests: a unique namespace on a real Redis, real workers."""

from __future__ import annotations

import pathlib
import sys
from collections.abc import Iterator

import pytest
import redis
from taskbridge import Bridge
from taskbridge.testing.cleanup import delete_namespace
from taskbridge.testing.redis_server import test_redis_url, unique_prefix
from taskbridge.testing.workers import Workers

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from rq_testkit import HERE, TASKS, rq_url


@pytest.fixture
def redis_url() -> str:
    return test_redis_url()


@pytest.fixture
def namespace(redis_url: str) -> Iterator[str]:
    """A namespace of the test's own; everything written under it is deleted afterwards."""
    name = unique_prefix("rq")
    yield name
    delete_namespace(redis_url, name)


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


@pytest.fixture
def url(redis_url: str, namespace: str) -> str:
    return rq_url(redis_url, namespace)


@pytest.fixture
def bridge(url: str) -> Iterator[Bridge]:
    import rq_test_tasks  # noqa: F401 - registers the tasks in this process

    made = Bridge(url, imports=[TASKS], heartbeat_interval=1.0)
    yield made
    made.close()


@pytest.fixture
def workers(url: str, tmp_path: pathlib.Path) -> Iterator[Workers]:
    """Real worker processes on ``url``, stopped before the namespace is deleted."""
    with Workers(tmp_path, url=url, imports=[TASKS], pythonpath=[HERE],
                 env={"TASKBRIDGE_HEARTBEAT_INTERVAL": "1"}) as started:
        yield started
