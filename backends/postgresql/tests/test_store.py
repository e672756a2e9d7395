"""The PostgreSQL store's own behaviour beyond the store contract suite: schemas per namespace,
indexes, native writes, batched purges, forks, racing producers and an unreachable server."""

from __future__ import annotations

import os
import threading
import uuid
import warnings
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import attrs
import psycopg
import pytest
import taskbridge_postgresql.store as store_module
from taskbridge_postgresql.factory import isolated, parse
from taskbridge_postgresql.store import PostgreSQLStore

from taskbridge import Bridge, ConfigurationError, RecordFilter, Status, StoreUnavailable
from taskbridge.plugin import StateStore, open_store
from taskbridge.testing.polling import wait_for
from taskbridge.testing.store_contract.races import race_create, race_processes
from taskbridge.testing.store_contract.records import create_one, record


def _schema(url: str) -> str:
    return parse(url)[1]


def _pg(store: StateStore) -> PostgreSQLStore:
    assert isinstance(store, PostgreSQLStore)
    return store


def test_namespaces_keep_their_records_apart(database_url: str, tmp_path: Path) -> None:
    """Two namespaces in one database are two schemas: neither sees the other's records."""
    with isolated(database_url, tmp_path) as one_url, isolated(database_url, tmp_path) as two_url:
        one, two = open_store(one_url), open_store(two_url)
        try:
            one.create([record("a", key="k")], now=1000.0, idempotency_ttl=60.0)
            assert two.get_many(["a"]) == [None]
            assert two.claim_holder("k") is None
            assert two.count(RecordFilter()) == 0
            assert one.count(RecordFilter()) == 1
        finally:
            one.close()
            two.close()


def test_tables_and_indexes_are_created_on_first_write(store: StateStore, store_url: str) -> None:
    """The first write creates the schema's tables and the indexes listing and purging use."""
    store.put_schedule("s", {})
    with psycopg.connect(parse(store_url)[0]) as conn:
        rows = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s", (_schema(store_url),)
        ).fetchall()
    assert {name for (name,) in rows} >= {
        "records_status", "records_task", "records_queue", "records_enqueued",
        "records_heartbeat", "records_finished", "leases_expiry", "records_task_status",
        "records_queue_status",
    }


def test_count_by_status_agrees_with_count(store: StateStore) -> None:
    """The one-query count by status gives what ``count`` gives status by status."""
    records = [record(f"r{n}", task=f"t{n % 2}", queue=f"q{n % 3}", at=float(n))
               for n in range(12)]
    store.create(records, now=1.0, idempotency_ttl=60.0)
    for n in range(0, 12, 4):
        store.start(f"r{n}", 1, worker="w", now=2.0)
    for flt in (RecordFilter(), RecordFilter(task_name="t0"), RecordFilter(queue="q1"),
                RecordFilter(task_name="t0", queue="q0", since=2.0)):
        expected = {s: store.count(attrs.evolve(flt, status=s)) for s in Status}
        assert store.count_by_status(flt) == expected  # type: ignore[attr-defined]


def test_native_writes_commit_or_roll_back_with_the_record(
    store: StateStore, store_url: str
) -> None:
    """create(writes=) runs SQL in the record's transaction: a failing write stores nothing."""
    conninfo, schema = parse(store_url)
    table = f'"{schema}".messages'
    store.put_schedule("s", {})  # creates the schema
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id TEXT PRIMARY KEY)")
    insert = (f"INSERT INTO {table} (id) VALUES (%s)", ("m1",))
    store.create([record("a")], now=1000.0, idempotency_ttl=60.0, writes={"a": [insert]})
    with pytest.raises(psycopg.errors.UniqueViolation):
        store.create([record("b")], now=1000.0, idempotency_ttl=60.0, writes={"b": [insert]})
    assert [r is not None for r in store.get_many(["a", "b"])] == [True, False]
    with psycopg.connect(conninfo) as conn:
        assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone() == (1,)


def test_purge_deletes_every_expired_record_in_batches(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A purge larger than a batch goes on batch after batch until nothing expired is left."""
    monkeypatch.setattr(store_module, "PURGE_BATCH", 2)
    ids = [f"r{n}" for n in range(5)]
    store.create([record(id, key=f"k{id}") for id in ids], now=1000.0, idempotency_ttl=1.0)
    for id in ids:
        store.start(id, 1, worker="w", now=1001.0)
        store.finish(id, 1, Status.SUCCEEDED, now=1002.0, idempotency_ttl=1.0)
    assert store.purge(now=2000.0, result_ttl=10.0, limit=3) == 3
    assert store.purge(now=2000.0, result_ttl=10.0) == 2
    assert store.count(RecordFilter()) == 0
    assert store.claim_holder("kr4") is None


def test_sixteen_threads_racing_create_store_one_record(store: StateStore) -> None:
    """16 threads creating under one key at once: one record, every thread gets its id."""
    barrier = threading.Barrier(16)
    results = race_create(store, barrier, [f"t{n}" for n in range(16)], "the-key")
    winners = {id for id, deduplicated in results if not deduplicated}
    assert len(results) == 16 and len(winners) == 1
    assert {id for id, _ in results} == winners
    assert store.count(RecordFilter()) == 1


def test_four_processes_racing_create_store_one_record(store_url: str) -> None:
    """4 spawned processes of 4 threads each race create on one key: exactly one is stored."""
    results = race_processes(store_url, processes=4, threads=4, key="shared-key")
    winners = {id for id, deduplicated in results if not deduplicated}
    assert len(results) == 16 and len(winners) == 1
    assert {id for id, _ in results} == winners


def test_a_forked_child_opens_its_own_connections(store: StateStore) -> None:
    """A child forked after the store was used works on connections it opened itself and
    leaves the parent's sessions open."""
    pg = _pg(store)
    create_one(store, record("parent"))
    with pg.pool.connection() as conn:
        parent_session = conn.info.backend_pid
        [forked_at] = conn.execute("SELECT clock_timestamp()").fetchone() or [None]
    read, write = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12 warns that forking a threaded process may deadlock: what is tested here.
        warnings.simplefilter("ignore", DeprecationWarning)
        child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        code = 1
        try:
            create_one(store, record("child"))
            with pg.pool.connection() as conn:
                [opened] = conn.execute(
                    "SELECT backend_start > %s FROM pg_stat_activity"
                    " WHERE pid = pg_backend_pid()", (forked_at,)
                ).fetchone() or [None]
            os.write(write, b"new" if opened else b"inherited")
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read) as reader:
        answer = reader.read()
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert answer == "new"
    with pg.pool.connection() as conn:
        alive = conn.execute(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = %s", (parent_session,)
        ).fetchone()
    assert alive == (1,)
    assert [r is not None for r in store.get_many(["parent", "child"])] == [True, True]


def test_an_unreachable_server_is_store_unavailable(tmp_path: Path) -> None:
    """Reading through a bridge whose PostgreSQL store does not answer raises
    StoreUnavailable naming the store, and ping raises EnqueueError."""
    store_url = "postgresql://postgres@127.0.0.1:1/nowhere?connect_timeout=2"
    bridge = Bridge(f"huey+sqlite:///{tmp_path / 'tasks.db'}?store={store_url}")
    try:
        with pytest.raises(StoreUnavailable, match=r"could not list executions.*127\.0\.0\.1:1"):
            bridge.list()
    finally:
        bridge.close()


def test_sessions_the_server_closed_are_replaced(database_url: str, tmp_path: Path) -> None:
    """After the server ends the store's idle sessions (a restart, an administrator), the next
    reads and changes run on new connections instead of failing."""
    name = f"tb-{uuid.uuid4().hex[:12]}"
    with isolated(f"{database_url}?application_name={name}", tmp_path) as url:
        store = open_store(url)
        try:
            store.create([record("a")], now=1000.0, idempotency_ttl=60.0)
            with psycopg.connect(parse(url)[0], autocommit=True) as admin:
                ended = admin.execute(
                    "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE application_name = %s AND pid <> pg_backend_pid()", (name,)
                ).fetchone()
                assert ended is not None and ended[0] >= 1

                def gone() -> bool:
                    left = admin.execute(
                        "SELECT COUNT(*) FROM pg_stat_activity"
                        " WHERE application_name = %s AND pid <> pg_backend_pid()", (name,)
                    ).fetchone()
                    return left == (0,)

                # pg_terminate_backend only signals: the sessions end (and say so) a moment later.
                wait_for(gone, 10, "the store's sessions to end")
            assert store.get_many(["a"])[0] is not None
            store.create([record("b")], now=1000.0, idempotency_ttl=60.0)
            assert store.count(RecordFilter()) == 2
        finally:
            store.close()


def test_batches_claiming_keys_in_opposite_orders_all_get_stored(store: StateStore) -> None:
    """Two producers creating batches whose keys come in opposite orders, at once, both
    succeed: a deadlock between their claims is retried, not raised."""
    errors: list[BaseException] = []
    for round in range(4):
        keys = [f"a{round}", f"b{round}"]
        barrier = threading.Barrier(2)

        def produce(name: str, order: list[str], barrier: threading.Barrier) -> None:
            barrier.wait(timeout=30)
            try:
                store.create([record(f"{name}-{key}", key=key) for key in order],
                             now=1000.0, idempotency_ttl=60.0)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=produce, args=("p", keys, barrier)),
                   threading.Thread(target=produce, args=("q", keys[::-1], barrier))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        assert all(store.claim_holder(key) is not None for key in keys)
    assert store.count(RecordFilter()) == 8


def test_a_user_who_cannot_create_the_tables_gets_a_configuration_error(
    database_url: str, tmp_path: Path
) -> None:
    """A user without CREATE on the database hears what to grant, not a driver error."""
    role = f"tbtest_{uuid.uuid4().hex[:12]}"
    conninfo = parse(database_url)[0]
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        with isolated(database_url, tmp_path) as url:
            parts = urlsplit(url)
            as_role = urlunsplit(parts._replace(netloc=f"{role}@{parts.netloc.rpartition('@')[2]}"))
            store = open_store(as_role)
            try:
                with pytest.raises(ConfigurationError, match="GRANT CREATE ON DATABASE"):
                    store.create([record("a")], now=1000.0, idempotency_ttl=60.0)
            finally:
                store.close()
    finally:
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute(f'DROP ROLE "{role}"')


def test_reads_create_nothing_and_find_nothing(store: StateStore, store_url: str) -> None:
    """Reading a namespace nobody wrote to answers empty and leaves no schema behind (a
    read-only command on a mistyped namespace); the first write creates the tables."""
    store.ping()
    assert store.count(RecordFilter()) == 0
    assert store.list(RecordFilter()) == []
    assert store.get_many(["a"]) == [None]
    assert store.stale(before=2000.0) == []
    assert (store.workers(), store.list_schedules(), store.get_schedule("s")) == ([], {}, None)
    assert (store.claim_holder("k"), store.lease_holder("l", now=1.0)) == (None, None)
    assert store.delete_schedule("s") is False
    store.unregister_worker("w")
    store.release_lease("l", "h")
    conninfo, schema = parse(store_url)

    def schema_exists() -> bool:
        with psycopg.connect(conninfo) as conn:
            found = conn.execute("SELECT to_regnamespace(%s)", (f'"{schema}"',)).fetchone()
        return found != (None,)

    assert not schema_exists()
    assert store.lease("l", "h", now=1.0, ttl=5.0)
    assert schema_exists()
