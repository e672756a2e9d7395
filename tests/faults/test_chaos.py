"""The chaos soak, small (issue 9): a few hundred tasks that succeed, retry and fail while
workers are SIGKILLed every two seconds and Redis restarts once; every record ends final.

``python -m benchmarks.chaos`` runs the large version (20,000 tasks per engine)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from taskbridge_celery.testing import delete_amqp_entities

from taskbridge.testing.chaos import soak
from taskbridge.testing.redis_server import (
    bring_up_private_server,
    start_private_server,
    stop_private_server,
    take_down_private_server,
    unique_prefix,
)

sys.path.insert(0, str(Path(__file__).parent))

from fault_engines import ENGINES, backend_url

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("faults")]


@pytest.fixture()
def redis_url() -> Iterator[str]:
    url = start_private_server(appendonly=True)
    yield url
    stop_private_server(url)


@pytest.mark.parametrize("engine", [*ENGINES, "huey+sqlite"])
def test_chaos_soak_leaves_every_task_final(engine: str, redis_url: str, tmp_path: Path) -> None:
    """SIGKILLs of workers and a Redis restart lose no task and strand none: every enqueued
    task ends SUCCEEDED or FAILED, none waits or runs once the workers have caught up."""
    namespace = unique_prefix("chaos")
    if engine == "huey+sqlite":
        url, restart = f"huey+sqlite:///{tmp_path / 'chaos.db'}", None
    else:
        url = backend_url(engine, redis_url, namespace)

        def restart() -> None:
            take_down_private_server(redis_url)
            time.sleep(1.0)
            bring_up_private_server(redis_url)

    try:
        report = soak(url, workdir=tmp_path, tasks=200, workers=2, concurrency=2,
                      duration=10.0, kill_every=2.0, restart_redis=restart, min_kills=3,
                      settle=60.0)
    finally:
        if engine == "celery+amqp":
            delete_amqp_entities(namespace, ["default"])
    print(f"\n{engine}: {report.summary()}")
    assert report.clean, report.summary()
    assert report.kills >= 3, report.summary()
    assert set(report.by_status) <= {"SUCCEEDED", "FAILED"}, report.summary()
