"""Tasks the fault tests run in real worker processes (imported as ``fault_tasks``)."""

from __future__ import annotations

import time

from taskbridge import TaskContext, task


@task
def echo(n: int) -> int:
    """Returns ``n`` after a few milliseconds, so some tasks are running when Redis stops."""
    time.sleep(0.01)
    return n


@task
def nap(seconds: float) -> float:
    """Sleeps ``seconds``: a task still running when its worker is killed."""
    time.sleep(seconds)
    return seconds


@task(context=True)
def progress_steps(context: TaskContext, steps: int, pause: float) -> int:
    """Reports progress after each of ``steps`` pauses, so it reports during an outage."""
    for step in range(1, steps + 1):
        time.sleep(pause)
        context.set_progress(100 * step / steps, f"step {step}")
    return steps
