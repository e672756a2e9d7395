"""What only the SQLite store does: file checks, WAL, many connections, forked children."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import threading
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskbridge import Envelope, Status
from taskbridge._errors import ConfigurationError
from taskbridge._record import record_for
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


def test_arguments_are_stored_once(tmp_path: Path) -> None:
    """A record's JSON holds its arguments once (the envelope leaves them out) and reads back
    whole; a record written with two copies still loads."""
    store = SQLiteStore(tmp_path / "state.db")
    marker = "y" * 5000
    asked = record_for(Envelope(id="a", task_name="tasks.add", args=(marker,),
                                kwargs={"k": marker}, enqueued_at=1.0))
    store.create([asked], now=1.0, idempotency_ttl=60.0)
    with sqlite3.connect(tmp_path / "state.db") as conn:
        [(data,)] = conn.execute("SELECT data FROM records WHERE id = 'a'").fetchall()
        assert data.count(marker) == 2  # args and kwargs, once each
        assert store.get("a") == asked
        old = json.loads(data)
        assert asked.envelope is not None
        old["envelope"] = asked.envelope.to_dict()
        conn.execute("UPDATE records SET data = ? WHERE id = 'a'", (json.dumps(old),))
    assert store.get("a") == asked
    store.close()


def test_a_database_of_an_earlier_version_is_upgraded(tmp_path: Path) -> None:
    """A records table without the discarded_at column gets it on open, and its records stay
    readable and can be discarded from the dead-letter list."""
    path = tmp_path / "old.db"
    SQLiteStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE records DROP COLUMN discarded_at")
        conn.execute("DROP TABLE leases")
    store = SQLiteStore(path)
    store.create([record("a")], now=1.0, idempotency_ttl=60.0)
    store.start("a", 1, worker="w", now=2.0)
    store.finish("a", 1, Status.FAILED, now=3.0, idempotency_ttl=60.0)
    assert store.dismiss("a", now=4.0) is not None
    dead = RecordFilter(status=Status.FAILED, include_retried=False)
    assert store.count(dead) == 0 and store.get("a").discarded_at == 4.0
    assert store.lease("k", "me", now=1.0, ttl=5.0)
    store.close()


def test_purge_removes_expired_leases(tmp_path: Path) -> None:
    """purge deletes the rows of expired leases, so leases never pile up."""
    store = SQLiteStore(tmp_path / "state.db")
    for n in range(5):
        store.lease(f"tick:{n}", "s", now=float(n), ttl=10.0)
    store.purge(now=12.0, result_ttl=60.0)
    with sqlite3.connect(tmp_path / "state.db") as conn:
        left = [key for (key,) in conn.execute("SELECT key FROM leases ORDER BY key")]
    assert left == ["tick:3", "tick:4"]
    store.close()


@given(st.lists(st.tuples(st.sampled_from(["t0", "t1"]), st.sampled_from(["q0", "q1"]),
                          st.booleans()), max_size=30),
       st.sampled_from([None, "t0"]), st.sampled_from([None, "q1"]))
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_count_by_status_agrees_with_count(
    tmp_path: Path, rows: list[tuple[str, str, bool]], task: str | None, queue: str | None
) -> None:
    """The one-query count by status gives what ``count`` gives status by status."""
    store = SQLiteStore(tmp_path / f"counts-{uuid.uuid4().hex}.db")
    try:
        records = [record(f"r{n}", task=t, queue=q, at=float(n))
                   for n, (t, q, _) in enumerate(rows)]
        store.create(records, now=1.0, idempotency_ttl=60.0)
        for n, (*_, started) in enumerate(rows):
            if started:
                store.start(f"r{n}", 1, worker="w", now=2.0)
        flt = RecordFilter(task_name=task, queue=queue)
        expected = {s: store.count(RecordFilter(task_name=task, queue=queue, status=s))
                    for s in Status}
        assert store.count_by_status(flt) == expected
    finally:
        store.close()
