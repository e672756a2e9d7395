"""Fixtures of the conformance suite: the ``backend`` harness, parametrized over the URLs given."""

from __future__ import annotations

import os
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import pytest

from taskbridge._bridge import Bridge, set_bridge
from taskbridge.testing.conformance.harness import ENV_URLS, Harness, unreachable_reason
from taskbridge.testing.recorder import HookRecorder, recording_hooks


def backend_urls(config: pytest.Config) -> list[str]:
    """``--taskbridge-url`` (repeatable), else ``$TASKBRIDGE_CONFORMANCE_URLS``, else memory://."""
    given = config.getoption("taskbridge_url", default=None) or []
    if given:
        return list(given)
    listed = [url.strip() for url in os.environ.get(ENV_URLS, "").split(",") if url.strip()]
    return listed or ["memory://"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend_url" in metafunc.fixturenames:
        urls = backend_urls(metafunc.config)
        # One xdist group per URL: under pytest-xdist's --dist loadgroup, all of a backend's
        # tests run on one worker, so its session fixture (and its workers) start once.
        params = [
            pytest.param(url, marks=pytest.mark.xdist_group(f"conformance-{index}"))
            for index, url in enumerate(urls)
        ]
        metafunc.parametrize("backend_url", params, ids=[_label(u) for u in urls],
                             scope="session")


def _label(url: str) -> str:
    """A test id: ``rq+redis`` for ``rq+redis://…``, ``rq+redis-store-postgresql`` when
    ``?store=postgresql://…`` keeps its records elsewhere."""
    label = url.split("://", 1)[0]
    store = dict(parse_qsl(urlsplit(url).query)).get("store", "")
    return f"{label}-store-{store.split(':', 1)[0]}" if store else label


@pytest.fixture(scope="session")
def backend(backend_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """The backend under test, with its workers running, for the whole session."""
    reason = unreachable_reason(backend_url)
    if reason is not None:
        pytest.skip(reason)
    scheme = backend_url.split("://", 1)[0].replace("+", "-")
    harness = Harness(backend_url, tmp_path_factory.mktemp(f"conformance-{scheme}"))
    try:
        harness.start()
        yield harness
    finally:
        harness.close()


@pytest.fixture(autouse=True)
def bridge(backend: Harness) -> Iterator[Bridge]:
    """The backend's bridge, made the default bridge for the test (as ``configure`` would)."""
    previous = set_bridge(backend.bridge)
    try:
        yield backend.bridge
    finally:
        set_bridge(previous)


@pytest.fixture
def hook_recorder() -> Iterator[HookRecorder]:
    """A lifecycle-hook plugin registered in this process for the test."""
    with recording_hooks() as recorder:
        yield recorder
