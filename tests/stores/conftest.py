"""Store fixtures: every contract test runs against the memory, Redis and SQLite stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from taskbridge.testing.redis_server import test_redis_url, unique_prefix

from ._support import open_store


def cleanup_redis(url: str, namespace: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def store_spec(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, ...]]:
    """A description of a fresh, empty store of the kind the test is parametrized with."""
    kind = request.param
    if kind == "redis":
        url, namespace = test_redis_url(), unique_prefix("store")
        yield ("redis", url, namespace)
        cleanup_redis(url, namespace)
    elif kind == "sqlite":
        yield ("sqlite", str(tmp_path / "state.db"))
    else:
        yield ("memory",)


@pytest.fixture
def store(store_spec: tuple[str, ...]) -> Iterator[Any]:
    """A fresh store of the parametrized kind, closed afterwards."""
    opened = open_store(store_spec)
    yield opened
    opened.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # A module may narrow the kinds with STORE_KINDS (cross-process tests leave out memory).
    if "store_spec" in metafunc.fixturenames:
        kinds = getattr(metafunc.module, "STORE_KINDS", ("memory", "redis", "sqlite"))
        metafunc.parametrize("store_spec", kinds, indirect=True)
