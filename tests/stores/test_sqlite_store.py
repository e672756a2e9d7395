"""What only the SQLite store does: file checks, WAL, many connections, forked children."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from pathlib import Path

import pytest

from taskbridge._errors import ConfigurationError
from taskbridge._stores.base import RecordFilter
from taskbridge._stores.sqlite import SQLiteStore
from taskbridge.testing.store_contract.records import record


def test_missing_directory_is_a_configuration_error(tmp_path: Path) -> None:
    """A path in a missing directory is refused, naming the path and what to do."""
    path = tmp_path / "nope" / "state.db"
    with pytest.raises(ConfigurationError, match=r"nope.*create it"):
        SQLiteStore(path)


def test_in_memory_database_is_refused() -> None:
    """':memory:' would give every thread its own empty database, so it is refused."""
    with pytest.raises(ConfigurationError, match="file path"):
        SQLiteStore(":memory:")


def test_uses_wal_journal(tmp_path: Path) -> None:
    """The database is in WAL mode, so readers never block the writer."""
    store = SQLiteStore(tmp_path / "state.db")
    with sqlite3.connect(tmp_path / "state.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


def test_two_stores_on_one_file_share_state(tmp_path: Path) -> None:
    """Two store objects on the same file see each other's writes and claims."""
    first, second = SQLiteStore(tmp_path / "s.db"), SQLiteStore(tmp_path / "s.db")
    first.create([record("a", key="k")], now=1.0, idempotency_ttl=60.0)
    assert second.create([record("b", key="k")], now=1.0, idempotency_ttl=60.0)[0].id == "a"
    first.close()
    second.close()


def test_each_thread_uses_its_own_connection(tmp_path: Path) -> None:
    """Threads get separate connections, and all of them work."""
    store = SQLiteStore(tmp_path / "s.db")
    seen: list[int] = []

    def work(n: int) -> None:
        store.create([record(f"r{n}")], now=1.0, idempotency_ttl=1.0)
        seen.append(id(store.connections.get()))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(set(seen)) == 4
    assert store.count(RecordFilter()) == 4
    store.close()


def test_store_keeps_working_in_a_forked_child(tmp_path: Path) -> None:
    """A child forked after the store was used opens its own connection and can write."""
    store = SQLiteStore(tmp_path / "s.db")
    store.create([record("parent")], now=1.0, idempotency_ttl=1.0)

    def child() -> None:
        store.create([record("child")], now=1.0, idempotency_ttl=1.0)
        store.start("parent", 1, worker="child", now=2.0)

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(30)
    assert process.exitcode == 0
    assert store.get("child").id == "child"
    assert store.get("parent").worker == "child"
    store.create([record("after")], now=1.0, idempotency_ttl=1.0)
    assert store.count(RecordFilter()) == 3
    store.close()
