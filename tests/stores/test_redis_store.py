"""What only the Redis store does: commands inside create, key layout, unreachable servers."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskbridge import Envelope, Record
from taskbridge._errors import EnqueueError, ResultNotFound
from taskbridge._record import record_for
from taskbridge._status import Status
from taskbridge._stores.base import RecordFilter
from taskbridge._stores.redis import RedisStore
from taskbridge.testing.cleanup import delete_namespace
from taskbridge.testing.polling import wait_for
from taskbridge.testing.redis_server import test_redis_url, unique_prefix
from taskbridge.testing.store_contract.records import outcome, record


@pytest.fixture
def store() -> Iterator[RedisStore]:
    """A Redis store under a namespace of its own, whose keys are deleted afterwards."""
    namespace = unique_prefix("redis-store")
    opened = RedisStore(test_redis_url(), namespace=namespace)
    yield opened
    opened.close()
    delete_namespace(test_redis_url(), namespace)


def namespace_keys(store: RedisStore) -> set[str]:
    return {k.decode() for k in store.client.scan_iter(match=f"{store.namespace}:*")}


def test_commands_run_only_for_stored_records(store: RedisStore) -> None:
    """Commands attached to a deduplicated record (earlier or in the batch) never run."""
    queue = store.key("engine", "queue")
    store.create([record("a", key="k")], now=1.0, idempotency_ttl=60.0,
                 writes={"a": [["RPUSH", queue, b"msg-a\x00\xff"]]})
    asked = [record("b", key="k"), record("c", key="k2"), record("d", key="k2"), record("e")]
    out = store.create(
        asked, now=2.0, idempotency_ttl=60.0,
        writes={id: [["RPUSH", queue, f"msg-{id}"], ["HSET", store.key("engine", id), "f", 1]]
                for id in "bcde"},
    )
    assert outcome(asked, out) == [
        ("a", True), ("c", False), ("c", True), ("e", False)
    ]
    assert store.client.lrange(queue, 0, -1) == [b"msg-a\x00\xff", b"msg-c", b"msg-e"]
    assert not store.client.exists(store.key("engine", "b"), store.key("engine", "d"))
    assert store.client.hget(store.key("engine", "c"), "f") == b"1"


def test_failing_command_writes_nothing(store: RedisStore) -> None:
    """A command that would fail (wrong key type) leaves no record, claim or earlier command."""
    store.client.set(store.key("not-a-list"), "x")
    with pytest.raises(redis.ResponseError, match="not-a-list"):
        store.create(
            [record("a", key="k"), record("b")], now=1.0, idempotency_ttl=60.0,
            writes={"a": [["RPUSH", store.key("fine"), "1"]],
                    "b": [["RPUSH", store.key("not-a-list"), "2"]]},
        )
    assert namespace_keys(store) == {store.key("not-a-list")}
    assert store.create([record("c", key="k")], now=1.0, idempotency_ttl=60.0)[0].id == "c"


def test_disallowed_command_is_refused_before_sending(store: RedisStore) -> None:
    """Only whitelisted write commands may run inside the scripts."""
    with pytest.raises(ValueError, match="FLUSHDB"):
        store.create([record("a")], now=1.0, idempotency_ttl=60.0, writes={"a": [["FLUSHDB"]]})
    with pytest.raises(ValueError, match="'del'"):
        store.write([["SET", store.key("x"), 1], ["del", store.key("x")]])
    assert namespace_keys(store) == set()


def test_write_is_atomic(store: RedisStore) -> None:
    """write runs all its commands, or none when one would fail."""
    store.write([
        ["RPUSH", store.key("q"), "m1"], ["ZADD", store.key("z"), 1.5, "m1"],
        ["SADD", store.key("s"), "m1"], ["EXPIRE", store.key("s"), 100],
        ["PUBLISH", store.key("chan"), "hello"],
    ])
    assert store.client.lrange(store.key("q"), 0, -1) == [b"m1"]
    assert store.client.zscore(store.key("z"), "m1") == 1.5
    assert 0 < store.client.ttl(store.key("s")) <= 100
    with pytest.raises(redis.ResponseError, match="holds a list"):
        store.write([["SET", store.key("new"), "v"], ["HSET", store.key("q"), "f", "v"]])
    assert not store.client.exists(store.key("new"))


def test_readers_never_see_a_record_without_its_message(store: RedisStore) -> None:
    """Records and their commands appear together: a concurrent reader never sees one alone."""
    queue, done, torn = store.key("q"), threading.Event(), []

    def read() -> None:
        reader = redis.Redis.from_url(test_redis_url())
        while not done.is_set():
            pipe = reader.pipeline(transaction=True)
            pipe.zcard(store.key("idx", "all")).llen(queue)
            records, messages = pipe.execute()
            if records != messages:
                torn.append((records, messages))
        reader.close()

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for n in range(200):
            batch = [record(f"r{n}-{i}") for i in range(3)]
            store.create(batch, now=1.0, idempotency_ttl=1.0,
                         writes={r.id: [["RPUSH", queue, r.id]] for r in batch})
    finally:
        done.set()
        thread.join(10)
    assert torn == []
    assert store.count(RecordFilter()) == 600


def test_purge_leaves_no_index_entries(store: RedisStore) -> None:
    """After every record is finished and purged, no key of the namespace is left."""
    store.create([record(f"r{n}", at=float(n), key=f"k{n}", task=f"t{n % 2}",
                         queue=f"q{n % 3}") for n in range(6)], now=1.0, idempotency_ttl=60.0)
    for n in range(6):
        store.start(f"r{n}", 1, worker="w", now=2.0)
        store.finish(f"r{n}", 1, [Status.SUCCEEDED, Status.FAILED][n % 2], now=3.0,
                     idempotency_ttl=60.0, value=n)
    store.mark_retried("r1", "r1-again")
    assert namespace_keys(store)
    assert store.purge(now=100.0, result_ttl=10.0) == 6
    assert namespace_keys(store) == set()


def test_key_layout(store: RedisStore) -> None:
    """Records, indexes and claims live under the documented keys."""
    store.create([record("a", key="K", task="tasks.x", queue="mail")], now=1.0,
                 idempotency_ttl=60.0)
    assert store.key("rec", "a") == f"{store.namespace}:rec:a"
    assert store.client.hget(store.key("rec", "a"), "status") == b"PENDING"
    assert store.client.get(store.key("idem", "K")) == b"a"
    for index in [("all",), ("status", "PENDING"), ("task", "tasks.x"), ("queue", "mail")]:
        assert store.client.zscore(store.key("idx", *index), "a") == 1000.0


def test_accepts_a_client_and_leaves_it_open(store: RedisStore) -> None:
    """A store made from a client shares it and does not close it."""
    client = redis.Redis.from_url(test_redis_url())
    shared = RedisStore(client, namespace=store.namespace)
    assert shared.client is client
    store.create([record("a")], now=1.0, idempotency_ttl=1.0)
    assert shared.get("a").id == "a"
    shared.close()
    assert client.ping()
    client.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_server_is_an_enqueue_error_with_redacted_url() -> None:
    """create and ping raise EnqueueError naming the URL without its password."""
    url = f"redis://:s3cret@127.0.0.1:{_closed_port()}/0"
    store = RedisStore(url, namespace=unique_prefix("down"))
    for attempt in (store.ping, lambda: store.create([record("a")], now=1.0, idempotency_ttl=1.0)):
        with pytest.raises(EnqueueError, match=r"\*\*\*@127\.0\.0\.1") as caught:
            attempt()
        assert "s3cret" not in str(caught.value)
        assert isinstance(caught.value.__cause__, redis.ConnectionError)
    store.close()


def test_wait_for_final_wakes_when_another_client_finishes_the_record(store: RedisStore) -> None:
    """A waiter that watched the record (get_and_watch) and then blocks in wait_for_final
    returns as soon as the record turns final."""
    store.create([record("w")], now=1.0, idempotency_ttl=60)
    store.start("w", 1, worker="w", now=1.0)
    assert store.get_and_watch("w", 10).status is Status.RUNNING
    woke = threading.Event()
    handed: list[Record | None] = []

    def wait() -> None:
        handed.append(store.wait_for_final("w", timeout=10))
        woke.set()

    waiter = threading.Thread(target=wait)
    waiter.start()
    assert not woke.wait(0.2), "returned before the record was final"
    store.finish("w", 1, Status.SUCCEEDED, now=2.0, idempotency_ttl=60, value=1)
    assert woke.wait(5), "the waiter did not wake when the record became final"
    waiter.join()
    assert handed == [store.get("w")]  # the final record came with the wake-up


def test_no_wake_up_token_for_a_record_nobody_watches(store: RedisStore) -> None:
    """Finishing a record nobody watches leaves no token behind (no memory per record); a
    watch that expired is nobody."""
    store.create([record("a"), record("b")], now=1.0, idempotency_ttl=60)
    store.get_and_watch("b", 0.001)
    wait_for(lambda: not store.client.exists(store.key("waiting", "b")), what="the watch to expire")
    for id in ("a", "b"):
        store.start(id, 1, worker="w", now=1.0)
        store.finish(id, 1, Status.SUCCEEDED, now=2.0, idempotency_ttl=60, value=1)
        assert not store.client.exists(store.key("done", id))


def test_watch_is_read_after_it_is_set(store: RedisStore) -> None:
    """get_and_watch on a record already final returns it final (the waiter does not block),
    and a record missing is ResultNotFound."""
    store.create([record("f")], now=1.0, idempotency_ttl=60)
    store.start("f", 1, worker="w", now=1.0)
    store.finish("f", 1, Status.FAILED, now=2.0, idempotency_ttl=60)
    assert store.get_and_watch("f", 5).status is Status.FAILED
    with pytest.raises(ResultNotFound):
        store.get_and_watch("missing", 5)


def _call_record(id: str, marker: str) -> Record:
    """A record as the bridge writes it: its envelope carries the record's own call."""
    envelope = Envelope(id=id, task_name="tasks.add", args=(marker, [1, 2]),
                        kwargs={"note": marker}, enqueued_at=1.0)
    return record_for(envelope)


def _hash_text(store: RedisStore, id: str) -> bytes:
    return b"\n".join(store.client.hvals(store.key("rec", id)))


def test_arguments_are_stored_once(store: RedisStore) -> None:
    """A record's arguments are in its hash once, also after a retry stores the next
    attempt's envelope; the record reads back whole."""
    marker = "x" * 5000
    asked = _call_record("a", marker)
    store.create([asked], now=1.0, idempotency_ttl=60.0)
    assert _hash_text(store, "a").count(marker.encode()) == 2  # args and kwargs, once each
    assert store.get("a") == asked
    store.start("a", 1, worker="w", now=2.0)
    assert asked.envelope is not None
    following = attrs.evolve(asked.envelope, attempt=2, run_at=5.0)
    retrying = store.finish("a", 1, Status.RETRYING, now=3.0, idempotency_ttl=60.0,
                            run_at=5.0, envelope=following)
    assert _hash_text(store, "a").count(marker.encode()) == 2
    assert retrying is not None and retrying.envelope == following == store.get("a").envelope


def test_records_with_two_copies_still_load(store: RedisStore) -> None:
    """A record written before arguments were stored once (the envelope with its own copy)
    reads back with its envelope's arguments."""
    asked = _call_record("old", "v")
    assert asked.envelope is not None
    store.create([asked], now=1.0, idempotency_ttl=60.0)
    store.client.hset(store.key("rec", "old"), "envelope", asked.envelope.dumps())
    assert store.get("old") == asked


def test_purge_moves_failed_records_of_the_old_index_layout(store: RedisStore) -> None:
    """FAILED records that earlier versions filed in idx:finished are purged by failed_ttl."""
    for id, status in (("ok", Status.SUCCEEDED), ("bad", Status.FAILED)):
        store.create([record(id)], now=1.0, idempotency_ttl=60.0)
        store.start(id, 1, worker="w", now=2.0)
        store.finish(id, 1, status, now=3.0, idempotency_ttl=60.0)
    store.client.zrem(store.key("idx", "finished", "FAILED"), "bad")
    store.client.zadd(store.key("idx", "finished"), {"bad": 3.0})
    assert store.purge(now=100.0, result_ttl=10.0, failed_ttl=1000.0) == 1
    assert store.get("bad").status is Status.FAILED
    assert store.client.zscore(store.key("idx", "finished", "FAILED"), "bad") == 3.0
    assert store.purge(now=2000.0, result_ttl=10.0, failed_ttl=1000.0) == 1
    assert namespace_keys(store) == set()


def test_leases_expire_in_redis_too(store: RedisStore) -> None:
    """A lease key carries a Redis expiry (its ttl and a margin), so none outlives its use."""
    assert store.lease("tick:1", "s1", now=time.time(), ttl=5.0)
    ttl_ms = store.client.pttl(store.key("lease", "tick:1"))
    assert 5_000 < ttl_ms <= 65_000


def test_a_store_written_before_the_paired_indexes_is_reindexed_by_purge(
    store: RedisStore,
) -> None:
    """Counts by task or queue and status stay right on a store whose records predate the
    task-and-status and queue-and-status indexes (read the old way), and after ``purge``
    files them, through the paired indexes."""
    store.create([record(f"r{n}", at=float(n), task=f"t{n % 2}", queue=f"q{n % 3}")
                  for n in range(12)], now=1.0, idempotency_ttl=60.0)
    for n in range(0, 12, 3):
        store.start(f"r{n}", 1, worker="w", now=2.0)
    paired = [k for k in namespace_keys(store) if ":idx:ts:" in k or ":idx:qs:" in k]
    store.client.delete(*paired, store.key("idx", "version"))  # as an older version wrote it
    store._indexed = False

    def counts() -> list[int]:
        return [store.count(RecordFilter(task_name="t0", status=Status.RUNNING)),
                store.count(RecordFilter(queue="q0", status=Status.PENDING)),
                store.count(RecordFilter(task_name="t1", status={Status.PENDING,
                                                                 Status.RUNNING}))]

    assert counts() == [2, 0, 6]
    store.purge(now=3.0, result_ttl=3600.0)
    assert store.client.get(store.key("idx", "version")) == b"2"
    assert store.count(RecordFilter(task_name="t0", status=Status.RUNNING)) == 2
    assert counts() == [2, 0, 6]
    assert {k for k in namespace_keys(store) if ":idx:ts:" in k} >= {
        store.key("idx", "ts", "t0", "RUNNING"), store.key("idx", "ts", "t1", "PENDING")}


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(args=st.lists(_json_values, max_size=4),
       kwargs=st.dictionaries(st.text(), _json_values, max_size=3),
       key=st.none() | st.text(min_size=1), queue=st.text(min_size=1, max_size=20))
def test_any_record_is_stored_and_read_back_whole(
    store: RedisStore, args: list[Any], kwargs: dict[str, Any], key: str | None, queue: str
) -> None:
    """Whatever JSON a call carries (any text: spaces, multi-byte characters, quotes), the
    record the create script stores (its fields packed into three arguments) reads back equal."""
    id = uuid.uuid4().hex  # and a key of its own: a key already claimed would return its owner
    envelope = Envelope(id=id, task_name="tasks.any", args=tuple(args), kwargs=kwargs,
                        queue=queue, idempotency_key=None if key is None else id + key,
                        enqueued_at=1.0)
    asked = record_for(envelope)
    [stored] = store.create([asked], now=1.0, idempotency_ttl=60)
    assert store.get(asked.id) == asked == stored
