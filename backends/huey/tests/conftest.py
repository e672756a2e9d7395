"""Fixtures for the Huey backend tests: bridges on SQLite and Redis, and real worker processes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskbridge import Bridge

sys.path.insert(0, str(Path(__file__).parent))

from huey_testkit import Workers, delete_namespace, redis_url, sqlite_url


@pytest.fixture(params=["sqlite", "redis"])
def bridge(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Bridge]:
    """A bridge on each transport, with a short heartbeat so crash recovery is quick."""
    url = sqlite_url(tmp_path) if request.param == "sqlite" else redis_url()
    made = Bridge(url, imports=["hueytasks"], heartbeat_interval=1.0)
    yield made
    if request.param == "redis":
        delete_namespace(made)
    made.close()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    """Real worker processes, stopped (SIGTERM, then SIGKILL) when the test ends."""
    started = Workers(tmp_path)
    yield started
    started.stop_all()

