"""The worker runner: real ``taskbridge worker`` and ``scheduler`` processes for tests."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

import taskbridge
from taskbridge.testing.conformance import tasks
from taskbridge.testing.polling import wait_for
from taskbridge.testing.workers import Workers

pytestmark = pytest.mark.slow

TASKS = "taskbridge.testing.conformance.tasks"
#: A module only the runner's extra PYTHONPATH makes importable; it shows the environment.
PROBE = "import os\nprint('RUNNER_MARK=' + os.environ.get('RUNNER_MARK', ''), flush=True)\n"


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A huey+sqlite store of the test's own (no server needed)."""
    pytest.importorskip("taskbridge_huey")
    return f"huey+sqlite:///{tmp_path / 'tasks.db'}"


@pytest.fixture
def workers(tmp_path: Path, url: str) -> Iterator[Workers]:
    (tmp_path / "probe").mkdir()
    (tmp_path / "probe" / "runner_probe.py").write_text(PROBE)
    with Workers(tmp_path, url=url, imports=[TASKS, "runner_probe"],
                 pythonpath=[tmp_path / "probe"], env={"RUNNER_MARK": "seen"}) as started:
        yield started


@pytest.fixture
def bridge(url: str) -> Iterator[taskbridge.Bridge]:
    made = taskbridge.Bridge(url)
    yield made
    made.close()


def test_a_started_worker_is_announced_and_runs_tasks(
    workers: Workers, bridge: taskbridge.Bridge
) -> None:
    """start() returns once the worker is in the store; it imports from the extra PYTHONPATH,
    sees the given environment, runs tasks, and stops with exit code 0 on SIGTERM."""
    worker = workers.start(concurrency=1)
    assert worker.announced(bridge)
    assert "RUNNER_MARK=seen" in worker.output()
    assert tasks.add.using(bridge=bridge).enqueue(2, 3).wait(timeout=20) == 5
    assert workers.stop(worker) == 0
    assert workers.started == []


def test_kill_takes_the_whole_process_group(workers: Workers) -> None:
    """kill() SIGKILLs the worker and every process it started."""
    worker = workers.start(concurrency=1)
    workers.kill(worker)
    assert worker.returncode == -signal.SIGKILL
    with pytest.raises(ProcessLookupError):
        os.killpg(worker.pid, 0)


def test_a_worker_that_cannot_start_fails_with_its_output(tmp_path: Path) -> None:
    """A worker that exits before announcing itself fails the test, quoting what it printed."""
    pytest.importorskip("taskbridge_huey")
    url = f"huey+sqlite:///{tmp_path / 'tasks.db'}"
    with Workers(tmp_path, url=url, imports=["no_such_tasks_module"]) as runner, \
            pytest.raises(AssertionError) as caught:
        runner.start(timeout=30)
    assert "exited with code" in str(caught.value)
    assert "no_such_tasks_module" in str(caught.value)


def test_schedulers_start_and_stop(workers: Workers, bridge: taskbridge.Bridge) -> None:
    """start_scheduler() runs ``taskbridge scheduler``; stop_all() ends it cleanly."""
    bridge.schedules.add("runner-tick", tasks.tick.name, taskbridge.Every(seconds=1))
    scheduler = workers.start_scheduler()
    wait_for(lambda: bridge.count(task_name=tasks.tick.name) > 0, 20, "a tick to be enqueued")
    assert scheduler.poll() is None, scheduler.output()
    workers.stop_all()
    assert scheduler.returncode == 0, scheduler.output()
