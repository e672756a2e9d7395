"""Fixtures of the adapter's tests: both databases (SQLite ``default``, PostgreSQL ``pg``), the
Django store and a bridge on each, and real ``manage.py taskbridge`` processes."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import pytest
from django.db import connections
from taskbridge_django.store import DjangoStore

ALIASES = ["default", "pg"]


@functools.cache
def postgres_answers() -> str | None:
    """``None`` when the ``pg`` database answers, else why not."""
    import psycopg

    settings = connections.settings["pg"]
    try:
        psycopg.connect(
            host=settings["HOST"], port=settings["PORT"], user=settings["USER"],
            password=settings["PASSWORD"] or None, dbname="postgres", connect_timeout=3,
        ).close()
    except psycopg.Error as exc:
        return f"PostgreSQL does not answer at {settings['HOST']}:{settings['PORT']}: {exc}"
    return None


@pytest.fixture(params=ALIASES)
def alias(request: pytest.FixtureRequest) -> str:
    """Each test using it runs on SQLite and on PostgreSQL (skipped, saying why, without it)."""
    if request.param == "pg" and postgres_answers() is not None:
        pytest.skip(postgres_answers() or "")
    return str(request.param)


@pytest.fixture
def store(alias: str, transactional_db: None, django_db_blocker: object) -> Iterator[DjangoStore]:
    """The Django store on ``alias``'s test database, emptied by the transactional test case."""
    opened = DjangoStore(alias)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None) -> None:
    """The test databases of both aliases (pytest-django creates what tests ask for), once a
    session, so module-scoped workers can open them before the first test does."""
