"""Fixtures for the RQ backend's tests: a unique namespace on a real Redis, real workers."""

from __future__ import annotations

import pathlib
import sys
from collections.abc import Iterator

import pytest
import redis
from taskbridge import Bridge
from taskbridge.testing.redis_server import test_redis_url, unique_prefix

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from rq_testkit import TASKS, Workers, delete_keys, rq_url


@pytest.fixture
def namespace() -> str:
    return unique_prefix("rq")


@pytest.fixture
def redis_url() -> str:
    return test_redis_url()


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


@pytest.fixture
def url(redis_url: str, namespace: str) -> str:
    return rq_url(redis_url, namespace)


@pytest.fixture
def bridge(url: str, client: redis.Redis, namespace: str) -> Iterator[Bridge]:
    import rq_test_tasks  # noqa: F401 - registers the tasks in this process

    made = Bridge(url, imports=[TASKS], heartbeat_interval=1.0)
    yield made
    ids = {key.decode().rsplit(":", 1)[1] for key in client.scan_iter(f"{namespace}:rec:*")}
    made.close()
    delete_keys(client, namespace, ids)


@pytest.fixture
def workers(url: str, tmp_path: pathlib.Path) -> Iterator[Workers]:
    started = Workers(url, tmp_path)
    yield started
    started.stop_all()

