"""Fixtures for the Procrastinate backend's tests: this run's PostgreSQL test database, a
namespace of the test's own (its records' schema and its jobs deleted afterwards), a bridge on
it and real worker processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from taskbridge_postgresql.fixtures import database_url as database_url
from taskbridge_postgresql.fixtures import new_database_url as new_database_url

from taskbridge import Bridge
from taskbridge.testing.cleanup import delete_url_namespace
from taskbridge.testing.redis_server import unique_prefix
from taskbridge.testing.workers import Workers

TASKS = "taskbridge.testing.conformance.tasks"
#: The tests' heartbeat: crash recovery (and Procrastinate's stalled workers) in seconds.
HEARTBEAT = 0.5
QUEUES = ["default", "other"]


@pytest.fixture
def url(database_url: str) -> Iterator[str]:
    """A ``procrastinate+postgresql://`` URL with a namespace of the test's own, whose schema
    and jobs are deleted when the test ends (after its workers stopped)."""
    made = f"procrastinate+{database_url}?namespace={unique_prefix('procrastinate')}"
    yield made
    delete_url_namespace(made, QUEUES)


@pytest.fixture
def bridge(url: str) -> Iterator[Bridge]:
    """A bridge on ``url`` with the conformance tasks and a short heartbeat."""
    made = Bridge(url, imports=[TASKS], heartbeat_interval=HEARTBEAT)
    yield made
    made.close()


@pytest.fixture
def workers(tmp_path: Path, url: str) -> Iterator[Workers]:
    """Real ``taskbridge worker`` processes on ``url``, stopped when the test ends."""
    with Workers(tmp_path, url=url, imports=[TASKS],
                 env={"TASKBRIDGE_HEARTBEAT_INTERVAL": str(HEARTBEAT)}) as started:
        yield started


@pytest.fixture
def sql(database_url: str) -> Iterator[Any]:
    """Run a query on the test database: ``sql(query, *params)`` returns its rows."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        def run(query: str, *params: Any) -> list[tuple[Any, ...]]:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []

        yield run
