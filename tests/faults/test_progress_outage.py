"""A Redis outage while a task reports progress: the task runs on and SUCCEEDS with its last
progress recorded, on every Redis engine, with a real worker and a real Redis restart."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from taskbridge import Bridge, Status
from taskbridge.testing.polling import wait_for
from taskbridge.testing.redis_server import (
    bring_up_private_server,
    start_private_server,
    stop_private_server,
    take_down_private_server,
)
from taskbridge.testing.workers import Workers

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

import fault_tasks  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("faults")]

#: Seconds Redis is down, with the task reporting progress every 0.1 s meanwhile. Shorter
#: than two heartbeat intervals (the worker's default, 5 s), after which crash recovery may
#: take the silent attempt for lost.
OUTAGE = 3.0
STEPS, PAUSE = 80, 0.1


@pytest.fixture()
def redis_url() -> Iterator[str]:
    """A private Redis with an append-only file, so a restart keeps every key."""
    url = start_private_server(appendonly=True)
    yield url
    stop_private_server(url)


@pytest.mark.parametrize("engine", ["rq+redis", "huey+redis", "celery+redis"])
def test_a_task_reporting_progress_through_a_redis_restart_succeeds(
    engine: str, redis_url: str, tmp_path: Path
) -> None:
    """set_progress during the outage neither raises nor fails the task: it ends SUCCEEDED
    with the last progress it reported, and the worker logged the outage."""
    url = f"{engine}://{urlsplit(redis_url).netloc}/0"
    bridge = Bridge(url, imports=["fault_tasks"])
    with Workers(tmp_path, imports=["fault_tasks"], pythonpath=[HERE], args=["-v"]) as workers:
        try:
            worker = workers.start(url, bridge=bridge, timeout=30)
            result = fault_tasks.progress_steps.using(bridge=bridge).enqueue(STEPS, PAUSE)
            wait_for(lambda: (result.refresh().progress or (0.0, ""))[0] >= 10, 30,
                     "the task to report 10%")
            take_down_private_server(redis_url)
            time.sleep(OUTAGE)  # the outage itself: the task reports progress meanwhile
            bring_up_private_server(redis_url)

            def finished() -> bool:
                try:
                    return result.refresh().status.is_final
                except Exception:  # the store may still be coming back
                    return False

            wait_for(finished, 60, "the task to finish")
            log = worker.output()
            assert result.status is Status.SUCCEEDED, (result.error, log)
            assert result.value == STEPS
            assert result.progress == (100.0, f"step {STEPS}")
            assert log.count("the store did not answer while") == 1, log
            assert log.count("the store answers again") == 1, log
        finally:
            bridge.close()
