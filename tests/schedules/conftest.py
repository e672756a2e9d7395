"""Fixtures for schedule tests: a memory bridge and cleanup of ``@periodic`` declarations."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import taskbridge
from taskbridge._schedules import registry as scheduling


@pytest.fixture(autouse=True)
def _forget_code_schedules() -> Iterator[None]:
    """Drop the ``@periodic`` declarations a test made."""
    before = set(scheduling.code_schedules())
    yield
    for name in set(scheduling.code_schedules()) - before:
        scheduling.forget_code_schedule(name)


@pytest.fixture
def bridge() -> Iterator[taskbridge.Bridge]:
    """A fresh memory:// bridge, closed after the test."""
    bridge = taskbridge.Bridge("memory://")
    yield bridge
    bridge.close()
