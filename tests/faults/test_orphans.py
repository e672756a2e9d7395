"""SIGKILL of a worker's main process takes every process it started with it: no orphaned
engine children (Huey's process workers and scheduler, RQ's pool workers, scheduler and work
horses, Celery's prefork children) go on consuming."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from taskbridge import Bridge, Status
from taskbridge.testing.polling import wait_for
from taskbridge.testing.redis_server import start_private_server, stop_private_server
from taskbridge.testing.workers import Workers

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

import fault_tasks  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("faults"),
    pytest.mark.skipif(not sys.platform.startswith("linux"),
                       reason="children die with their worker through Linux's PR_SET_PDEATHSIG"),
]

#: engine URL (``{redis}``: a private server's host:port, ``{dir}``: the test's directory),
#: worker pool, concurrency, and how many processes the worker starts at least (with one task
#: running): what each engine forks.
CASES = {
    # 2 process workers and the scheduler process
    "huey process pool": ("huey+sqlite:///{dir}/huey.db?pool=process", "process", 2, 3),
    # the scheduler process, and the work horse running the task
    "rq -c 1": ("rq+redis://{redis}/0", "fork", 1, 2),
    # 2 pool workers, the scheduler one of them runs, the work horse running the task
    "rq pool": ("rq+redis://{redis}/0", "fork", 2, 4),
    # 2 prefork children (billiard ties them to the worker itself)
    "celery prefork": ("celery+redis://{redis}/0", "prefork", 2, 2),
}


@pytest.fixture()
def redis_address() -> Iterator[str]:
    """A private Redis of the test's own: nothing it writes outlives it."""
    url = start_private_server()
    yield urlsplit(url).netloc
    stop_private_server(url)


def parents() -> dict[int, int]:
    """Every live (not zombie) process: pid -> parent pid."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # it exited meanwhile
        state, ppid = stat[stat.rindex(")") + 2:].split()[:2]
        if state != "Z":
            found[int(entry)] = int(ppid)
    return found


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid``."""
    table = parents()
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in table.items() if parent in frontier} - found
        found |= frontier
    return found


def command_line(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    return "?"


@pytest.mark.parametrize("case", list(CASES))
def test_killing_a_worker_kills_every_process_it_started(
    case: str, redis_address: str, tmp_path: Path
) -> None:
    """Once a worker's main process is SIGKILLed (alone, not its process group), every
    process it started, directly or not, is gone too."""
    template, pool, concurrency, least = CASES[case]
    url = template.format(redis=redis_address, dir=tmp_path)
    bridge = Bridge(url, imports=["fault_tasks"])
    children: set[int] = set()
    with Workers(tmp_path, imports=["fault_tasks"], pythonpath=[HERE],
                 env={"TASKBRIDGE_HEARTBEAT_INTERVAL": "1"}) as workers:
        try:
            worker = workers.start(url, pool=pool, concurrency=concurrency, bridge=bridge)
            running = fault_tasks.nap.using(bridge=bridge).enqueue(120)
            wait_for(lambda: running.refresh().status is Status.RUNNING, 30,
                     "the task to start")

            def started() -> set[int]:
                found = descendants(worker.pid)
                return found if len(found) >= least else set()

            children = wait_for(started, 30, f"the worker to start {least} processes")

            worker.send_signal(signal.SIGKILL)
            worker.wait(10)

            def survivors() -> list[str]:
                live = parents()
                return [f"{pid} {command_line(pid)}" for pid in sorted(children) if pid in live]

            try:
                wait_for(lambda: not survivors(), 15, "the worker's children to die")
            except AssertionError:
                pytest.fail(f"{len(survivors())} of the {len(children)} processes the killed "
                            f"worker started are still running: {survivors()}")
        finally:
            for pid in children:  # what a failing run left behind
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            bridge.close()
