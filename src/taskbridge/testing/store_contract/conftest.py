"""Fixtures of the store contract suite: a fresh store per test, for every store URL given."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from taskbridge.plugin import StateStore, open_store
from taskbridge.testing.store_contract.targets import StoreTarget, store_targets


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store_target" in metafunc.fixturenames:
        targets = store_targets(metafunc.config)
        metafunc.parametrize(
            "store_target", targets, ids=[t.label for t in targets], scope="session"
        )


@pytest.fixture
def store_url(store_target: StoreTarget, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, empty store of the kind under test, removed afterwards."""
    with store_target.isolated(tmp_path) as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[StateStore]:
    """The fresh store, open for the test and closed afterwards."""
    opened = open_store(store_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def shared_store_url(store_target: StoreTarget, store_url: str) -> str:
    """``store_url``, for tests that open the store from other processes too."""
    if store_target.private_to_process:
        pytest.skip(f"a {store_target.label} store is private to its process")
    return store_url
