"""Fixtures for the Huey backend tests: bridges on SQLite and Redis, and real worker processes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskbridge import Bridge
from taskbridge.testing.cleanup import delete_namespace
from taskbridge.testing.redis_server import test_redis_url, unique_prefix
from taskbridge.testing.workers import Workers

sys.path.insert(0, str(Path(__file__).parent))

from huey_testkit import TASKS, TESTS, redis_url, sqlite_url


@pytest.fixture
def namespace() -> Iterator[str]:
    """A Redis namespace of the test's own, deleted (after its workers stop) when it ends."""
    name = unique_prefix("huey")
    yield name
    delete_namespace(test_redis_url(), name)


@pytest.fixture(params=["sqlite", "redis"])
def bridge(request: pytest.FixtureRequest, tmp_path: Path, namespace: str) -> Iterator[Bridge]:
    """A bridge on each transport, with a short heartbeat so crash recovery is quick."""
    url = sqlite_url(tmp_path) if request.param == "sqlite" else redis_url(namespace)
    made = Bridge(url, imports=[TASKS], heartbeat_interval=1.0)
    yield made
    made.close()


@pytest.fixture
def workers(tmp_path: Path, namespace: str) -> Iterator[Workers]:
    """Real worker processes, stopped (SIGTERM, then SIGKILL) when the test ends."""
    with Workers(tmp_path, imports=[TASKS], pythonpath=[TESTS], args=["-v"],
                 cwd=tmp_path) as started:
        yield started
