"""Tasks the fault tests run in real worker processes (imported as ``fault_tasks``)."""

from __future__ import annotations

import time

from taskbridge import task


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
