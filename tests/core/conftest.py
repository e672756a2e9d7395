"""Fixtures for the core's tests: in-memory bridges and throwaway backend plugins."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import taskbridge
from taskbridge._bridge import set_bridge
from taskbridge._plugins import plugin_manager
from taskbridge.testing.recorder import HookRecorder, recording_hooks


@pytest.fixture
def bridge() -> Iterator[taskbridge.Bridge]:
    """A fresh memory:// bridge with a short heartbeat, closed after the test."""
    bridge = taskbridge.Bridge("memory://", heartbeat_interval=0.05)
    yield bridge
    bridge.close()


@pytest.fixture
def default_bridge(bridge: taskbridge.Bridge) -> Iterator[taskbridge.Bridge]:
    """Make ``bridge`` the process default for the test, then put the old default back."""
    previous = set_bridge(bridge)
    yield bridge
    set_bridge(previous)


@pytest.fixture
def register_plugin() -> Iterator[Callable[[object], None]]:
    """Register pluggy plugin objects for one test; they are unregistered afterwards."""
    manager = plugin_manager()
    added: list[object] = []

    def register(plugin: object) -> None:
        manager.register(plugin)
        added.append(plugin)

    yield register
    for plugin in added:
        manager.unregister(plugin)


def run_all(bridge: taskbridge.Bridge) -> Any:
    """Run everything waiting on a memory:// bridge, delayed retries included."""
    return bridge.backend.run_pending(bridge, ignore_delays=True)  # type: ignore[attr-defined]


@pytest.fixture
def test_engines(register_plugin: Callable[[object], None]) -> None:
    """Make the 'refusing' and 'limited' backend doubles available as engines."""
    from .doubles import BackendsPlugin

    register_plugin(BackendsPlugin())


@pytest.fixture
def recorder() -> Iterator[HookRecorder]:
    """A plugin recording every lifecycle event for the test."""
    with recording_hooks() as recorder:
        yield recorder
