"""pytest fixtures for tests on PostgreSQL, shared by the distributions that keep data there:
import the ones a ``conftest.py`` needs (``from taskbridge_postgresql.fixtures import
database_url``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from taskbridge_postgresql.testing import (
    create_database,
    database_url_on,
    drop_database,
    server_url,
    test_database_url,
)


@pytest.fixture
def database_url() -> str:
    """This run's test database (skips, saying why, when no PostgreSQL server answers)."""
    try:
        return test_database_url()
    except RuntimeError as exc:
        pytest.skip(str(exc))


@pytest.fixture
def new_database_url() -> Iterator[str]:
    """An empty database of the test's own, dropped when the test ends (skips, saying why, when
    no PostgreSQL server answers)."""
    server = server_url()
    try:
        database = create_database(server, "new")
    except RuntimeError as exc:
        pytest.skip(str(exc))
    yield database_url_on(server, database)
    drop_database(server, database)
