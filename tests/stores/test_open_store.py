"""open_store: a store from a URL, for the schemes the core ships and those plugins register."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from taskbridge import ConfigurationError, hookimpl
from taskbridge._plugins import plugin_manager
from taskbridge._stores.memory import MemoryStore
from taskbridge._stores.redis import RedisStore
from taskbridge._stores.sqlite import SQLiteStore
from taskbridge.plugin import installed_stores, open_store
from taskbridge.testing.redis_server import test_redis_url, unique_prefix


def test_memory_gives_a_fresh_private_store() -> None:
    """memory:// opens a new, empty store each time."""
    first, second = open_store("memory://"), open_store("memory://")
    assert isinstance(first, MemoryStore) and first is not second


def test_memory_refuses_a_path() -> None:
    """memory:// takes nothing after the scheme."""
    with pytest.raises(ConfigurationError, match="'memory://'"):
        open_store("memory://somewhere")


@pytest.mark.parametrize("scheme", ["redis", "rediss"])
def test_redis_namespace_comes_from_the_query(scheme: str) -> None:
    """?namespace= sets the key prefix and is not passed on to redis-py; other options are."""
    store = open_store(f"{scheme}://:pw@127.0.0.1:1/3?namespace=app&socket_timeout=2")
    assert isinstance(store, RedisStore) and store.namespace == "app"
    kwargs = store.client.connection_pool.connection_kwargs
    assert (kwargs["db"], kwargs["socket_timeout"], kwargs["password"]) == (3, 2.0, "pw")
    assert "pw" not in store.url
    store.close()


def test_redis_namespace_defaults_and_is_checked() -> None:
    """Without ?namespace= keys go under 'taskbridge'; an empty one is refused."""
    store = open_store("redis://127.0.0.1:1/0")
    assert isinstance(store, RedisStore) and store.namespace == "taskbridge"
    store.close()
    with pytest.raises(ConfigurationError, match="namespace"):
        open_store("redis://127.0.0.1:1/0?namespace=")


def test_redis_store_opened_by_url_works() -> None:
    """A store opened by URL reads and writes under its namespace."""
    namespace = unique_prefix("open")
    store = open_store(f"{test_redis_url()}?namespace={namespace}")
    try:
        store.put_schedule("s", {"a": 1})
        assert store.get_schedule("s") == {"a": 1}
        assert isinstance(store, RedisStore)
        assert store.client.exists(f"{namespace}:schedules")
    finally:
        assert isinstance(store, RedisStore)
        store.client.delete(f"{namespace}:schedules")
        store.close()


def test_sqlite_relative_and_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """sqlite:///x.db is relative to the working directory, sqlite:////x.db absolute."""
    monkeypatch.chdir(tmp_path)
    relative = open_store("sqlite:///rel.db")
    absolute = open_store(f"sqlite:///{tmp_path / 'abs.db'}")
    assert isinstance(relative, SQLiteStore) and isinstance(absolute, SQLiteStore)
    assert relative.path == Path("rel.db") and absolute.path == tmp_path / "abs.db"
    assert os.path.exists(tmp_path / "rel.db") and os.path.exists(tmp_path / "abs.db")
    relative.close()
    absolute.close()


@pytest.mark.parametrize("url", ["sqlite://host/x.db", "sqlite:///", "sqlite:///x.db?mode=ro"])
def test_sqlite_malformed(url: str) -> None:
    """A host, an empty path or options are refused, saying what the URL should look like."""
    with pytest.raises(ConfigurationError, match=r"sqlite:///relative/path\.db"):
        open_store(url)


@pytest.mark.parametrize("url", ["mysql://db/x", "no-scheme", ""])
def test_unknown_scheme_names_the_installed_stores(url: str) -> None:
    """An unknown or missing scheme is a ConfigurationError listing the stores installed."""
    # Plugins' stores (django, postgresql) may sort between the core's.
    listed = r"installed stores: .*memory, .*redis, rediss, sqlite"
    with pytest.raises(ConfigurationError, match=listed):
        open_store(url)


def test_password_is_redacted_in_errors() -> None:
    """A URL's password never appears in the error."""
    with pytest.raises(ConfigurationError) as caught:
        open_store("mysql://user:s3cret@db/x")
    assert "s3cret" not in str(caught.value) and "***" in str(caught.value)


class _Plugin:
    def __init__(self) -> None:
        self.opened: list[str] = []

    @hookimpl
    def taskbridge_stores(self) -> dict[str, Any]:
        def factory(url: str) -> MemoryStore:
            self.opened.append(url)
            return MemoryStore()

        return {"custom": factory}


@pytest.fixture
def custom_plugin() -> Iterator[_Plugin]:
    """A plugin registering the 'custom' scheme for the test."""
    plugin = _Plugin()
    plugin_manager().register(plugin, name="test-custom-store")
    try:
        yield plugin
    finally:
        plugin_manager().unregister(plugin)


def test_plugins_register_schemes(custom_plugin: _Plugin) -> None:
    """A taskbridge_stores hook adds a scheme; its factory gets the whole URL."""
    assert "custom" in installed_stores()
    assert isinstance(open_store("custom://x/y?z=1"), MemoryStore)
    assert custom_plugin.opened == ["custom://x/y?z=1"]


def test_store_factories_load_their_store_on_use() -> None:
    """Listing the stores and opening memory:// leave the Redis store's module unimported."""
    code = (
        "import sys; from taskbridge.plugin import installed_stores, open_store; "
        "installed_stores(); open_store('memory://'); "
        "print('taskbridge._stores.redis' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
