"""Real processes for the browser tests: a worker, a scheduler and ``taskbridge dashboard``,
all on one backend URL, importing the dashboard test tasks."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from taskbridge import Bridge
from taskbridge.testing.polling import wait_for
from taskbridge.testing.workers import WorkerProcess, Workers

HERE = Path(__file__).parent
TASKS = "dashboard_tasks"
USER, PASSWORD = "ops", "correct horse"


class Stack:
    """The processes serving one backend URL, their logs, and a producer bridge."""

    def __init__(self, url: str, workdir: Path) -> None:
        self.url = url
        self.workdir = workdir
        self.bridge = Bridge(url, imports=[TASKS], heartbeat_interval=1.0)
        self.processes = Workers(
            workdir, url=url, imports=[TASKS], pythonpath=[HERE],
            env={"TASKBRIDGE_HEARTBEAT_INTERVAL": "1",
                 "TASKBRIDGE_DASHBOARD_AUTH": f"{USER}:{PASSWORD}"},
        )
        self.base_url = ""

    def start(self) -> None:
        self.processes.start(concurrency=2, bridge=self.bridge)
        self.processes.start_scheduler()
        dashboard = self.processes.start_command("dashboard", args=["--bind", "127.0.0.1:0"])
        self.base_url = wait_for(lambda: _serving(dashboard), 30, "the dashboard to serve")

    def stop(self) -> None:
        self.processes.stop_all()
        self.bridge.close()


def _serving(dashboard: WorkerProcess) -> str | None:
    """The address the dashboard says it serves at, once it has said so."""
    assert dashboard.poll() is None, dashboard.output(tail=3000)
    for line in dashboard.output().splitlines():
        if "serving" in line and " at http://" in line:
            return line.split(" at ", 1)[1].split()[0]
    return None


@contextlib.contextmanager
def running(url: str, workdir: Path) -> Iterator[Stack]:
    stack = Stack(url, workdir)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
