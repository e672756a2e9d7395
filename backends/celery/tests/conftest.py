"""Fixtures for the Celery backend tests: a Redis URL, unique namespaces, tracking keys, real
workers, and a module-wide bridge and worker for modules that define a ``url`` fixture."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

# The tests run in pytest's importlib mode; workers import the tasks module from this folder too.
sys.path.insert(0, str(Path(__file__).parent))

from celery_testkit import make_bridge, start_worker, workers_in

from taskbridge import Bridge
from taskbridge.testing.cleanup import delete_namespace
from taskbridge.testing.redis_server import test_redis_url, unique_prefix
from taskbridge.testing.workers import WorkerProcess, Workers


@pytest.fixture(scope="module")
def redis_url() -> str:
    return test_redis_url()


@pytest.fixture(scope="module")
def namespace(redis_url: str) -> Iterator[str]:
    """The module's namespace; what was written under it is deleted after its workers stop."""
    name = unique_prefix("celery")
    yield name
    delete_namespace(redis_url, name)


@pytest.fixture()
def tracker(redis_url: str, namespace: str) -> Iterator[tuple[str, str]]:
    """``(redis_url, key)``: a key tasks write to so the test sees what really ran."""
    key = f"{namespace}:track:{unique_prefix('k')}"
    yield redis_url, key
    redis.Redis.from_url(redis_url).delete(key)


@pytest.fixture()
def workers(namespace: str, tmp_path: Path) -> Iterator[Workers]:
    """Real worker processes for one test, stopped before the namespace is deleted."""
    with workers_in(tmp_path) as started:
        yield started


@pytest.fixture(scope="module")
def bridge(url: str) -> Iterator[Bridge]:
    """A bridge on the module's ``url``."""
    made = make_bridge(url)
    yield made
    made.close()


@pytest.fixture(scope="module")
def worker(url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    """One real Celery worker (concurrency 2) on the module's ``url``, for the whole module."""
    with workers_in(tmp_path_factory.mktemp("celery-worker")) as workers:
        started = start_worker(workers, url, concurrency=2)
        yield started
        assert started.stop(timeout=30) == 0, started.output()
