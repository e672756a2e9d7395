"""Tasks the Huey backend tests enqueue; workers import this module with --imports hueytasks."""

from __future__ import annotations

import os
import time
from pathlib import Path

from taskbridge import task


@task
def add(a: int, b: int) -> int:
    """Return the sum."""
    return a + b


@task
def record_order(path: str, label: str) -> str:
    """Append ``label`` to the file at ``path``, so tests see the order tasks ran in."""
    with open(path, "a") as handle:
        handle.write(label + "\n")
    return label


@task
def stamp() -> float:
    """Return when the task started running."""
    return time.time()


@task
def slow(path: str, seconds: float) -> str:
    """Mark ``path`` as started, sleep, then return: lets a test signal a busy worker."""
    Path(path).write_text(str(os.getpid()))
    time.sleep(seconds)
    return "finished"


@task(timeout=1)
def too_long() -> None:
    """Run past its one-second timeout."""
    time.sleep(30)


@task
def hold(megabytes: int, seconds: float) -> int:
    """Hold ``megabytes`` of touched memory and burn about ``seconds`` of CPU."""
    block = bytearray(megabytes * 1024 * 1024)
    for at in range(0, len(block), 4096):
        block[at] = 1
    deadline = time.thread_time() + seconds
    while time.thread_time() < deadline:
        pass
    return len(block)
