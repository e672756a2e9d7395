"""TransactionalStore: all-or-nothing creates and native writes on the memory and SQLite stores."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from taskbridge import RecordFilter
from taskbridge._stores.memory import MemoryStore
from taskbridge._stores.sqlite import SQLiteStore
from taskbridge.plugin import TransactionalStore
from taskbridge.testing.store_contract.records import outcome, record


def test_memory_create_that_fails_leaves_nothing() -> None:
    """A create that fails part-way (the memory store has no native writes) is undone."""
    store = MemoryStore()
    with pytest.raises(TypeError, match="no native writes"):
        store.create([record("a", key="k"), record("b")], now=1.0, idempotency_ttl=60.0,
                     writes={"b": ["anything"]})
    assert store.count(RecordFilter()) == 0
    assert store.claim_holder("k") is None
    with pytest.raises(TypeError, match="no native writes"):
        store.write(["anything"])


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SQLiteStore]:
    """An SQLite store whose file also holds a table of messages, as Huey's would."""
    store = SQLiteStore(tmp_path / "s.db")
    with store.connections.write() as conn:
        conn.execute("CREATE TABLE messages (body TEXT NOT NULL)")
    yield store
    store.close()


def messages(store: SQLiteStore) -> list[str]:
    rows = store.connections.get().execute("SELECT body FROM messages ORDER BY rowid")
    return [body for (body,) in rows]


def test_sqlite_writes_run_only_for_stored_records(sqlite_store: SQLiteStore) -> None:
    """create's statements run in its transaction, and not for a deduplicated record."""
    insert = "INSERT INTO messages (body) VALUES (?)"
    asked = [record("a", key="k"), record("b", key="k"), record("c")]
    out = sqlite_store.create(asked, now=1.0, idempotency_ttl=60.0,
                              writes={id: [(insert, (f"msg-{id}",))] for id in "abc"})
    assert outcome(asked, out) == [("a", False), ("a", True), ("c", False)]
    assert messages(sqlite_store) == ["msg-a", "msg-c"]


def test_sqlite_failing_write_rolls_back_everything(sqlite_store: SQLiteStore) -> None:
    """A statement that fails undoes the records, claims and earlier statements with it."""
    insert = "INSERT INTO messages (body) VALUES (?)"
    with pytest.raises(sqlite3.Error):
        sqlite_store.create(
            [record("a", key="k"), record("b")], now=1.0, idempotency_ttl=60.0,
            writes={"a": [(insert, ("fine",))], "b": [("INSERT INTO nowhere VALUES (1)", ())]},
        )
    assert sqlite_store.count(RecordFilter()) == 0
    assert sqlite_store.claim_holder("k") is None
    assert messages(sqlite_store) == []
    with pytest.raises(sqlite3.IntegrityError):
        sqlite_store.write([(insert, ("one",)), (insert, (None,))])
    assert messages(sqlite_store) == []
    sqlite_store.write([(insert, ("one",)), (insert, ("two",))])
    assert messages(sqlite_store) == ["one", "two"]


def test_a_subclass_must_provide_storage_and_reads() -> None:
    """A TransactionalStore missing any read cannot be made, and says which."""

    class Partial(TransactionalStore):
        @contextmanager
        def transaction(self) -> Iterator[Any]:
            yield None

    with pytest.raises(TypeError, match="get_many"):
        Partial()  # type: ignore[abstract]
