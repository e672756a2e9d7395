"""The pytest plugin (``pytest11`` entry point): the ``taskbridge_memory`` fixture, the
``--taskbridge-url`` option the conformance suite reads, the ``--taskbridge-store`` option the
store contract suite reads, and the check that a run leaves no keys behind on the tests' Redis
(``taskbridge_check_redis_keys = true`` in the ini file)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from taskbridge.testing.kit import MemoryKit

CHECK_INI = "taskbridge_check_redis_keys"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("taskbridge")
    group.addoption(
        "--taskbridge-url",
        action="append",
        dest="taskbridge_url",
        default=None,
        metavar="URL",
        help="backend URL for the taskbridge conformance suite (repeatable; default: "
        "$TASKBRIDGE_CONFORMANCE_URLS, comma-separated, else memory://)",
    )
    group.addoption(
        "--taskbridge-store",
        action="append",
        dest="taskbridge_store",
        default=None,
        metavar="URL",
        help="store URL for the taskbridge store contract suite (repeatable; default: "
        "$TASKBRIDGE_STORE_URLS, comma-separated, else the stores taskbridge ships)",
    )
    parser.addini(
        CHECK_INI,
        type="bool",
        default=False,
        help="fail the run if it leaves keys of its test namespaces on the tests' Redis",
    )


def pytest_configure(config: pytest.Config) -> None:
    # The conformance suite runs each backend's tests on one pytest-xdist worker; the mark
    # must be known when xdist is not installed too (--strict-markers).
    config.addinivalue_line("markers", "xdist_group(name): run these tests on one xdist worker")
    controller = not hasattr(config, "workerinput")
    if controller and config.getini(CHECK_INI):
        from taskbridge.testing.leftovers import LeftoverKeys

        config.pluginmanager.register(LeftoverKeys(), "taskbridge-leftover-keys")


@pytest.fixture
def taskbridge_memory() -> Iterator[MemoryKit]:
    """Point the default bridge at a fresh ``memory://`` bridge for one test, then restore it.

    It also wins over a framework adapter's current bridge (a Flask app's), so an application
    under test reaches no real backend unless the test asks for one.
    """
    # Imported here so that merely having taskbridge installed costs pytest runs nothing.
    from taskbridge._bridge import Bridge, set_bridge
    from taskbridge.testing.kit import MemoryKit, pinned

    bridge = Bridge("memory://")
    previous = set_bridge(bridge)
    try:
        with pinned(bridge):
            yield MemoryKit(bridge)
    finally:
        set_bridge(previous)
        bridge.close()
