"""Fixtures for the PostgreSQL store's tests: a fresh schema in this run's test database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from taskbridge_postgresql.factory import isolated
from taskbridge_postgresql.fixtures import database_url as database_url

from taskbridge.plugin import StateStore, open_store


@pytest.fixture
def store_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty store in a schema of the test's own, dropped afterwards."""
    with isolated(database_url, tmp_path) as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[StateStore]:
    """The store at ``store_url``, closed afterwards."""
    opened = open_store(store_url)
    yield opened
    opened.close()
