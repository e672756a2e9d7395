"""``taskbridge status`` and ``taskbridge worker`` against work that would otherwise wait
forever: queues nobody consumes, no worker at all, schedules and no scheduler."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import taskbridge
from taskbridge import Every, Status
from taskbridge._schedules.scheduler import Scheduler
from taskbridge.cli import main
from taskbridge.testing.polling import wait_for

pytest.importorskip("taskbridge_huey")

TASKS = textwrap.dedent("""
    from taskbridge import task

    @task(name="statusprobe.send", queue="emails")
    def send(address):
        return address

    @task(name="statusprobe.report")
    def report(kind):
        return kind

    @task(name="statusprobe.plain")
    def plain():
        return "plain"
""")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[taskbridge.Bridge]:
    """A module of tasks on three queues (default, 'emails', routed 'reports') and a bridge
    on a fresh SQLite file that imports it."""
    (tmp_path / "statusprobe.py").write_text(TASKS)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("TASKBRIDGE_ROUTES", '{"statusprobe.report": "reports"}')
    monkeypatch.setenv("TASKBRIDGE_IMPORTS", "statusprobe")
    monkeypatch.setenv("TASKBRIDGE_URL", f"huey+sqlite:///{tmp_path / 'tasks.db'}")
    bridge = taskbridge.Bridge()
    yield bridge
    bridge.close()
    sys.modules.pop("statusprobe", None)


def status(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["status", "--json"]) == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return report


def test_status_warns_when_no_worker_runs(
    project: taskbridge.Bridge, capsys: pytest.CaptureFixture[str]
) -> None:
    """With waiting work and no worker, status warns that nothing will run (exit 0)."""
    project.enqueue("statusprobe.plain")
    report = status(capsys)
    assert any(w.startswith("no worker is running") for w in report["warnings"])
    assert main(["status"]) == 0
    assert "warning: no worker is running" in capsys.readouterr().out


def test_status_warns_about_a_queue_no_worker_consumes(
    project: taskbridge.Bridge, capsys: pytest.CaptureFixture[str]
) -> None:
    """A queue with waiting work that no live worker consumes gets a warning naming it."""
    project.store.register_worker("w1", {"queues": ["default"], "pool": "thread"}, ttl=60)
    project.enqueue("statusprobe.send", "a@example.org")
    project.enqueue("statusprobe.plain")
    report = status(capsys)
    # Tasks other test modules registered in this process bring their queues too.
    ours = {queue: report["queues"][queue] for queue in ("default", "emails", "reports")}
    assert ours == {"default": 1, "emails": 1, "reports": 0}
    assert [w for w in report["warnings"] if "queue" in w] == [
        "queue 'emails' has 1 waiting task(s) and no worker consumes it: start one with "
        "'taskbridge worker -q emails'"]


def test_status_shows_scheduler_health(
    project: taskbridge.Bridge, capsys: pytest.CaptureFixture[str]
) -> None:
    """Active schedules and no scheduler is a warning; a running scheduler shows up with the
    last tick it sent, and leaves no trace once stopped."""
    project.schedules.add("every-second", "statusprobe.plain", Every(seconds=1))
    report = status(capsys)
    assert report["schedulers"] == {"running": [], "last_tick": None}
    assert any("no scheduler is running" in w for w in report["warnings"])
    stop = threading.Event()
    scheduler = Scheduler(project, max_sleep=0.2)
    thread = threading.Thread(target=scheduler.run, args=(stop,))
    thread.start()
    try:
        report = wait_for(lambda: (r := status(capsys))["schedulers"]["last_tick"] and r,
                          timeout=15, what="a tick in status")
        [running] = report["schedulers"]["running"]
        last = report["schedulers"]["last_tick"]
        assert last["schedule"] == "every-second" and last["by"] == running["id"]
        assert project.get_result(last["id"]).task_name == "statusprobe.plain"
        assert not any("scheduler" in w for w in report["warnings"])
        assert main(["status"]) == 0
        assert "every-second" in capsys.readouterr().out
        names = [e.name for e in project.schedules.list()]  # @periodic ones are synced too
        assert "every-second" in names and not any(n.startswith("~") for n in names)
    finally:
        stop.set()
        thread.join()
    assert status(capsys)["schedulers"]["running"] == []


def test_worker_consumes_every_known_queue_by_default(
    project: taskbridge.Bridge, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`taskbridge worker` without -q runs tasks of the default queue, of the tasks' own
    queues and of the routes; status shows it consuming all three."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "taskbridge", "worker"], cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(tmp_path)),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        results = [project.enqueue("statusprobe.send", "a@example.org"),
                   project.enqueue("statusprobe.report", "daily"),
                   project.enqueue("statusprobe.plain")]
        assert [r.queue for r in results] == ["emails", "reports", "default"]
        for result in results:
            wait_for(lambda r=result: r.refresh().status is Status.SUCCEEDED, timeout=30,
                     what=f"{result.task_name} to succeed")
        # Huey's consumers start before the worker announces itself: tasks may run first.
        [announced] = wait_for(lambda: status(capsys)["workers"], timeout=30,
                               what="the worker announced in status")
        assert sorted(announced["queues"]) == ["default", "emails", "reports"]
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=30)
    assert worker.returncode == 0, stderr
