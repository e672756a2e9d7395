"""Real processes for the browser tests: a worker, a scheduler and ``taskbridge dashboard``,
all on one backend URL, importing the dashboard test tasks."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from taskbridge import Bridge
from taskbridge.testing.polling import wait_for

HERE = Path(__file__).parent
TASKS = "dashboard_tasks"
USER, PASSWORD = "ops", "correct horse"


class Stack:
    """The processes serving one backend URL, their logs, and a producer bridge."""

    def __init__(self, url: str, workdir: Path) -> None:
        self.url = url
        self.workdir = workdir
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.bridge = Bridge(url, imports=[TASKS], heartbeat_interval=1.0)
        self.base_url = ""

    def _start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        path = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
        env = dict(os.environ, PYTHONPATH=path, TASKBRIDGE_HEARTBEAT_INTERVAL="1",
                   TASKBRIDGE_DASHBOARD_AUTH=f"{USER}:{PASSWORD}")
        with (self.workdir / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "taskbridge", *args, "--url", self.url, "--imports",
                 TASKS], stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )
        self.processes.append((name, process))
        return process

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")[-3000:]

    def start(self) -> None:
        self._start("worker", "worker", "-c", "2")
        self._start("scheduler", "scheduler")
        dashboard = self._start("dashboard", "dashboard", "--bind", "127.0.0.1:0")

        def serving() -> str | None:
            assert dashboard.poll() is None, self.log("dashboard")
            for line in self.log("dashboard").splitlines():
                if "serving" in line and " at http://" in line:
                    return line.split(" at ", 1)[1].split()[0]
            return None

        self.base_url = wait_for(serving, 30, "the dashboard to serve")
        wait_for(lambda: self.bridge.store.workers(), 60,
                 f"the worker to announce itself; its log:\n{self.log('worker')}")

    def stop(self) -> None:
        for _, process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _, process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        self.bridge.close()


@contextlib.contextmanager
def running(url: str, workdir: Path) -> Iterator[Stack]:
    stack = Stack(url, workdir)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
