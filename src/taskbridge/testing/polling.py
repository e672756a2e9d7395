"""Polling for test conditions: wait until something is true, or fail saying what never was."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    condition: Callable[[], T],
    timeout: float = 20.0,
    what: str = "",
    *,
    before_each: Callable[[], object] | None = None,
) -> T:
    """Call ``condition`` until it returns something truthy and return that; raise
    ``AssertionError`` naming ``what`` after ``timeout`` seconds.

    Starts polling every 10 ms and backs off to 100 ms. ``before_each`` runs before every try
    (the conformance harness drives in-process backends with it).
    """
    deadline = time.monotonic() + timeout
    step = 0.01
    while True:
        if before_each is not None:
            before_each()
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what or condition}")
        time.sleep(step)
        step = min(step * 1.5, 0.1)
