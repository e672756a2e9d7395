"""The StateStore contract, written once and run against the memory, Redis and SQLite stores."""

from __future__ import annotations

import time
from typing import Any

import pytest

from taskbridge._envelope import Envelope
from taskbridge._errors import ResultNotFound
from taskbridge._record import ErrorInfo, Record
from taskbridge._status import Status
from taskbridge._stores.base import RecordFilter, StateStore

from ._support import record

# Redis 6.2 is the oldest server the Redis store supports, so the contract runs on it too.
STORE_KINDS = ("memory", "redis", "redis-6.2", "sqlite")
TTL = 60.0
BOOM = ErrorInfo("ValueError", "boom", "Traceback ...")


def create(store: Any, *records: Record, now: float = 1000.0) -> list[Record]:
    return list(store.create(list(records), now=now, idempotency_ttl=TTL))


def run(store: Any, id: str, attempt: int = 1, now: float = 1001.0) -> Record:
    started = store.start(id, attempt, worker="w1", now=now)
    assert started is not None
    return started


def finish(store: Any, id: str, status: Status, attempt: int = 1, **kw: Any) -> Record | None:
    kw.setdefault("now", 1002.0)
    return store.finish(id, attempt, status, idempotency_ttl=TTL, **kw)  # type: ignore[no-any-return]


def ids(records: list[Record]) -> list[str]:
    return [r.id for r in records]


# -- create, get, discard --------------------------------------------------------------------


def test_satisfies_protocol(store: Any) -> None:
    """Every store is a StateStore."""
    assert isinstance(store, StateStore)


def test_create_stores_and_returns_records_in_order(store: Any) -> None:
    """create returns its input records in order and get reads each back unchanged."""
    first = record("a", key="k1", at=1.5)
    second = record("b", at=2.25)
    assert create(store, first, second) == [first, second]
    assert store.get("a") == first
    assert store.get("b") == second


def test_record_round_trips_every_field(store: Any) -> None:
    """All record fields, nested JSON and the envelope survive storage."""
    envelope = Envelope(id="r", task_name="tasks.add", args=(1,), attempt=2, enqueued_at=5.0)
    original = Record(
        id="r", task_name="tasks.add", queue="q.1", status=Status.PENDING, args=("é", [1, 2]),
        kwargs={"a": {"b": [None, True, 1.25]}}, priority=7, max_attempts=4,
        idempotency_key="key:with:colons", enqueued_at=1712345678.123456, run_at=1712345679.5,
        envelope=envelope, first_step="c1",
    )
    create(store, original)
    assert store.get("r") == original


def test_create_deduplicates_against_live_claim(store: Any) -> None:
    """A second record with a live key is not stored; the holder comes back marked."""
    create(store, record("a", key="k"))
    [again] = create(store, record("b", key="k"), now=1500.0)
    assert again.id == "a" and again.deduplicated
    assert store.get_many(["b"]) == [None]
    assert store.count(RecordFilter()) == 1


def test_create_deduplicates_within_one_batch(store: Any) -> None:
    """An earlier record of the same batch holds its key for later ones."""
    out = create(store, record("a", key="k"), record("b", key="k"), record("c", key="other"))
    assert [(r.id, r.deduplicated) for r in out] == [("a", False), ("a", True), ("c", False)]
    assert store.count(RecordFilter()) == 2


def test_records_without_key_never_deduplicate(store: Any) -> None:
    """Records without an idempotency key (or with an empty one) are always stored."""
    out = create(store, record("a"), record("b"), record("c", key=""), record("d", key=""))
    assert not any(r.deduplicated for r in out)
    assert store.count(RecordFilter()) == 4


def test_running_and_retrying_hold_the_key(store: Any) -> None:
    """RUNNING and RETRYING records keep their key claimed."""
    create(store, record("a", key="k"))
    run(store, "a")
    assert create(store, record("b", key="k"), now=5000.0)[0].id == "a"
    finish(store, "a", Status.RETRYING, error=BOOM, run_at=1010.0)
    assert create(store, record("c", key="k"), now=5000.0)[0].id == "a"


def test_succeeded_holds_key_for_idempotency_ttl(store: Any) -> None:
    """A SUCCEEDED record holds its key until finished_at + ttl, then the key is free."""
    create(store, record("a", key="k"))
    run(store, "a")
    finish(store, "a", Status.SUCCEEDED, value=3, now=1002.0)
    held = create(store, record("b", key="k"), now=1002.0 + TTL - 0.5)
    assert held[0].id == "a" and held[0].deduplicated
    [fresh] = create(store, record("c", key="k"), now=1002.0 + TTL)
    assert fresh.id == "c" and not fresh.deduplicated
    assert create(store, record("d", key="k"), now=9999.0)[0].id == "c"


@pytest.mark.parametrize("ending", [Status.FAILED, Status.CANCELED])
def test_failed_and_canceled_release_the_key(store: Any, ending: Status) -> None:
    """FAILED and CANCELED records release their key at once."""
    create(store, record("a", key="k"))
    run(store, "a")
    finish(store, "a", ending, error=BOOM)
    [fresh] = create(store, record("b", key="k"), now=1003.0)
    assert fresh.id == "b" and not fresh.deduplicated


def test_cancel_of_pending_releases_the_key(store: Any) -> None:
    """Canceling a waiting record releases its key."""
    create(store, record("a", key="k"))
    store.cancel("a", now=1001.0)
    assert create(store, record("b", key="k"))[0].id == "b"


def test_discard_deletes_only_pending_and_releases_keys(store: Any) -> None:
    """discard removes PENDING records and frees their keys; others and unknown ids stay."""
    create(store, record("a", key="k"), record("b", key="k2"))
    run(store, "b")
    store.discard(["a", "b", "missing"])
    assert store.get_many(["a", "b"])[0] is None
    assert store.get("b").status is Status.RUNNING
    assert create(store, record("c", key="k"))[0].id == "c"
    assert create(store, record("d", key="k2"))[0].id == "b"
    assert store.count(RecordFilter(status=Status.PENDING)) == 1


def test_get_unknown_raises_result_not_found_naming_the_id(store: Any) -> None:
    """get of an unknown id raises ResultNotFound, naming the id."""
    with pytest.raises(ResultNotFound, match="nope-42"):
        store.get("nope-42")


def test_get_many_keeps_order_with_none_for_unknown(store: Any) -> None:
    """get_many answers in input order with None for unknown ids."""
    create(store, record("a"), record("b"))
    found = store.get_many(["b", "x", "a"])
    assert [r.id if r else None for r in found] == ["b", None, "a"]
    assert store.get_many([]) == []


# -- start, finish, heartbeat, progress ------------------------------------------------------


def test_start_moves_waiting_to_running(store: Any) -> None:
    """start sets RUNNING, attempts, started_at, heartbeat_at and worker."""
    create(store, record("a"))
    started = store.start("a", 1, worker="w1", now=1001.5)
    assert started is not None
    assert (started.status, started.attempts, started.started_at) == (Status.RUNNING, 1, 1001.5)
    assert (started.heartbeat_at, started.worker) == (1001.5, "w1")
    assert store.get("a") == started


def test_start_guards(store: Any) -> None:
    """start refuses wrong attempts, duplicates, canceled, final and unknown records."""
    create(store, record("a"), record("b"), record("c"))
    assert store.start("a", 2, worker="w", now=1.0) is None
    assert store.start("a", 0, worker="w", now=1.0) is None
    run(store, "a")
    assert store.start("a", 1, worker="w", now=1.0) is None
    assert store.start("a", 2, worker="w", now=1.0) is None
    store.cancel("b", now=1.0)
    assert store.start("b", 1, worker="w", now=1.0) is None
    run(store, "c")
    finish(store, "c", Status.SUCCEEDED)
    assert store.start("c", 2, worker="w", now=1.0) is None
    assert store.start("missing", 1, worker="w", now=1.0) is None


def test_start_refuses_cancel_requested_retrying(store: Any) -> None:
    """A RETRYING record whose cancel was requested while running never starts again."""
    create(store, record("a"))
    run(store, "a")
    store.cancel("a", now=1001.5)
    finish(store, "a", Status.RETRYING, error=BOOM, run_at=1005.0)
    assert store.start("a", 2, worker="w", now=1006.0) is None


def test_retrying_record_starts_next_attempt(store: Any) -> None:
    """RETRYING stores error, run_at and envelope; the next attempt then starts."""
    envelope = Envelope(id="a", task_name="tasks.add", attempt=2, enqueued_at=1000.0)
    create(store, record("a"))
    run(store, "a")
    retrying = finish(store, "a", Status.RETRYING, error=BOOM, run_at=1010.0, envelope=envelope)
    assert retrying is not None and retrying.status is Status.RETRYING
    assert (retrying.error, retrying.run_at, retrying.envelope) == (BOOM, 1010.0, envelope)
    assert retrying.finished_at is None
    assert store.get("a") == retrying
    second = store.start("a", 2, worker="w2", now=1011.0)
    assert second is not None and second.attempts == 2 and second.worker == "w2"


def test_finish_succeeded_stores_value(store: Any) -> None:
    """SUCCEEDED stores the value and finished_at."""
    create(store, record("a"))
    run(store, "a")
    done = finish(store, "a", Status.SUCCEEDED, value={"sum": [1, 2.5, None]}, now=1003.25)
    assert done is not None and done.value == {"sum": [1, 2.5, None]}
    assert (done.status, done.finished_at) == (Status.SUCCEEDED, 1003.25)
    assert store.get("a") == done


def test_finish_failed_stores_error(store: Any) -> None:
    """FAILED stores the error and finished_at."""
    create(store, record("a"))
    run(store, "a")
    done = finish(store, "a", Status.FAILED, error=BOOM, now=1004.0)
    assert done is not None and done.error == BOOM and done.finished_at == 1004.0
    assert store.get("a") == done


def test_finish_guards(store: Any) -> None:
    """finish needs RUNNING with that attempt: not pending, not twice, not another attempt."""
    create(store, record("a"), record("b"))
    assert finish(store, "a", Status.SUCCEEDED) is None
    run(store, "a")
    assert finish(store, "a", Status.SUCCEEDED, attempt=2) is None
    assert finish(store, "a", Status.SUCCEEDED, value=1) is not None
    assert finish(store, "a", Status.FAILED, error=BOOM) is None
    assert store.get("a").status is Status.SUCCEEDED
    assert finish(store, "missing", Status.SUCCEEDED) is None


def test_heartbeat_returns_cancel_flag(store: Any) -> None:
    """heartbeat records the time and returns the cancel flag; None when not running it."""
    create(store, record("a"))
    assert store.heartbeat("a", 1, now=1001.0) is None
    run(store, "a")
    assert store.heartbeat("a", 1, now=1005.0) is False
    assert store.get("a").heartbeat_at == 1005.0
    assert store.heartbeat("a", 2, now=1006.0) is None
    store.cancel("a", now=1006.0)
    assert store.heartbeat("a", 1, now=1007.0) is True
    finish(store, "a", Status.CANCELED)
    assert store.heartbeat("a", 1, now=1008.0) is None
    assert store.heartbeat("missing", 1, now=1008.0) is None


def test_set_progress(store: Any) -> None:
    """set_progress stores the latest report; unknown ids are ignored, not created."""
    create(store, record("a"))
    store.set_progress("a", 10, "starting")
    store.set_progress("a", 55.5, "halfway")
    assert store.get("a").progress == (55.5, "halfway")
    store.set_progress("missing", 1, "x")
    assert store.get_many(["missing"]) == [None]


# -- cancel and retry ------------------------------------------------------------------------


@pytest.mark.parametrize("waiting", ["PENDING", "RETRYING"])
def test_cancel_waiting_record(store: Any, waiting: str) -> None:
    """A waiting record becomes CANCELED with finished_at."""
    create(store, record("a"))
    if waiting == "RETRYING":
        run(store, "a")
        finish(store, "a", Status.RETRYING, error=BOOM, run_at=1003.0)
    canceled = store.cancel("a", now=1009.0)
    assert (canceled.status, canceled.finished_at) == (Status.CANCELED, 1009.0)
    assert store.get("a") == canceled


def test_cancel_running_requests_cancel(store: Any) -> None:
    """A RUNNING record stays RUNNING with cancel_requested set."""
    create(store, record("a"))
    run(store, "a")
    asked = store.cancel("a", now=1009.0)
    assert asked.status is Status.RUNNING and asked.cancel_requested
    assert asked.finished_at is None
    assert store.get("a").cancel_requested


@pytest.mark.parametrize("ending", [Status.SUCCEEDED, Status.FAILED, Status.CANCELED])
def test_cancel_final_record_changes_nothing(store: Any, ending: Status) -> None:
    """A final record is returned unchanged."""
    create(store, record("a"))
    run(store, "a")
    done = finish(store, "a", ending, error=BOOM)
    assert store.cancel("a", now=2000.0) == done
    assert store.get("a") == done


def test_cancel_unknown_raises(store: Any) -> None:
    """cancel of an unknown id raises ResultNotFound."""
    with pytest.raises(ResultNotFound, match="ghost"):
        store.cancel("ghost", now=1.0)


def test_mark_retried_exactly_once(store: Any) -> None:
    """Only a FAILED record not yet retried is marked, once."""
    create(store, record("a"), record("b"))
    assert store.mark_retried("a", "new") is None
    run(store, "a")
    finish(store, "a", Status.FAILED, error=BOOM)
    marked = store.mark_retried("a", "new1")
    assert marked is not None and marked.retried_as == "new1"
    assert store.mark_retried("a", "new2") is None
    assert store.get("a").retried_as == "new1"
    run(store, "b")
    finish(store, "b", Status.SUCCEEDED)
    assert store.mark_retried("b", "new") is None
    assert store.mark_retried("missing", "new") is None


def test_stale_finds_running_with_old_heartbeat(store: Any) -> None:
    """stale returns RUNNING records whose heartbeat is older than before, up to limit."""
    create(store, *(record(i) for i in "abcde"))
    for i, id in enumerate("abcd"):
        run(store, id, now=1000.0 + i)
    finish(store, "d", Status.SUCCEEDED)
    assert sorted(ids(store.stale(before=1002.0))) == ["a", "b"]
    assert store.heartbeat("a", 1, now=1010.0) is False
    assert ids(store.stale(before=1002.0)) == ["b"]
    assert len(store.stale(before=5000.0, limit=2)) == 2
    assert sorted(ids(store.stale(before=5000.0))) == ["a", "b", "c"]


# -- list and count --------------------------------------------------------------------------


@pytest.fixture
def populated(store: Any) -> Any:
    """Eight records over two tasks, two queues and every status, at t = 1..8."""
    spec = [
        ("p1", "add", "q1"), ("p2", "mul", "q2"), ("r1", "add", "q2"), ("s1", "add", "q1"),
        ("f1", "mul", "q1"), ("f2", "add", "q2"), ("c1", "mul", "q2"), ("t1", "add", "q1"),
    ]
    for n, (id, task, queue) in enumerate(spec, start=1):
        create(store, record(id, at=float(n), task=task, queue=queue))
    for id in ("r1", "s1", "f1", "f2", "t1"):
        run(store, id)
    finish(store, "s1", Status.SUCCEEDED, value=1)
    finish(store, "f1", Status.FAILED, error=BOOM)
    finish(store, "f2", Status.FAILED, error=BOOM)
    finish(store, "t1", Status.RETRYING, error=BOOM, run_at=2000.0)
    store.cancel("c1", now=1003.0)
    store.mark_retried("f2", "f2-again")
    return store


CASES: list[tuple[dict[str, Any], list[str]]] = [
    ({}, ["t1", "c1", "f2", "f1", "s1", "r1", "p2", "p1"]),
    ({"status": "PENDING"}, ["p2", "p1"]),
    ({"status": ["FAILED", "CANCELED"]}, ["c1", "f2", "f1"]),
    ({"status": []}, []),
    ({"task_name": "mul"}, ["c1", "f1", "p2"]),
    ({"queue": "q1"}, ["t1", "f1", "s1", "p1"]),
    ({"task_name": "add", "queue": "q2"}, ["f2", "r1"]),
    ({"status": ["PENDING", "RUNNING"], "queue": "q2"}, ["r1", "p2"]),
    ({"status": "FAILED", "task_name": "add", "queue": "q2"}, ["f2"]),
    ({"since": 3.0}, ["t1", "c1", "f2", "f1", "s1", "r1"]),
    ({"until": 3.0}, ["p2", "p1"]),
    ({"since": 2.0, "until": 6.0}, ["f1", "s1", "r1", "p2"]),
    ({"task_name": "add", "since": 3.5, "until": 8.0}, ["f2", "s1"]),
    ({"status": ["RETRYING", "PENDING"], "since": 2.0}, ["t1", "p2"]),
    ({"include_retried": False}, ["t1", "c1", "f1", "s1", "r1", "p2", "p1"]),
    ({"status": "FAILED", "include_retried": False}, ["f1"]),
    ({"status": ["FAILED", "PENDING"], "include_retried": False}, ["f1", "p2", "p1"]),
    ({"queue": "q2", "include_retried": False}, ["c1", "r1", "p2"]),
    ({"task_name": "nobody"}, []),
    ({"queue": "q1", "task_name": "mul", "since": 100.0}, []),
]


@pytest.mark.parametrize(("criteria", "expected"), CASES, ids=[str(c[0]) for c in CASES])
def test_list_and_count_filters(
    populated: Any, criteria: dict[str, Any], expected: list[str]
) -> None:
    """list returns exactly the matching records newest first, and count agrees."""
    flt = RecordFilter(**criteria)
    assert ids(populated.list(flt)) == expected
    assert populated.count(flt) == len(expected)


@pytest.mark.parametrize("criteria", [{}, {"queue": "q1"}, {"status": ["FAILED", "PENDING"]},
                                      {"task_name": "add", "queue": "q2", "since": 2.0}])
def test_list_limit_and_offset_page_newest_first(populated: Any, criteria: dict[str, Any]) -> None:
    """Pages of limit/offset concatenate to the full newest-first list."""
    flt = RecordFilter(**criteria)
    everything = ids(populated.list(flt, limit=100))
    pages = [ids(populated.list(flt, limit=2, offset=o)) for o in range(0, 10, 2)]
    assert [id for page in pages for id in page] == everything
    assert populated.list(flt, limit=0) == []
    assert populated.list(flt, offset=50) == []


def test_list_returns_full_records(populated: Any) -> None:
    """list returns the same records get does."""
    for found in populated.list(RecordFilter()):
        assert populated.get(found.id) == found


# -- purge -----------------------------------------------------------------------------------


def test_purge_removes_old_final_records_and_their_index_entries(store: Any) -> None:
    """purge deletes final records finished at least result_ttl ago, nothing else."""
    create(store, *(record(id, at=float(n), key=f"k{id}") for n, id in enumerate("abcdef")))
    for id, status, at in [("a", Status.SUCCEEDED, 100.0), ("b", Status.FAILED, 100.0),
                           ("c", Status.SUCCEEDED, 150.0), ("d", Status.RETRYING, 100.0)]:
        run(store, id)
        finish(store, id, status, now=at, error=BOOM, run_at=500.0)
    store.cancel("e", now=90.0)
    assert store.purge(now=200.0, result_ttl=100.0) == 3
    assert store.get_many(list("abcdef"))[:3] == [None, None, store.get("c")]
    assert ids(store.list(RecordFilter())) == ["f", "d", "c"]
    assert store.count(RecordFilter(status=["SUCCEEDED", "FAILED", "CANCELED"])) == 1
    assert store.count(RecordFilter(include_retried=False, status="FAILED")) == 0
    assert store.purge(now=200.0, result_ttl=100.0) == 0
    # The purged SUCCEEDED record's key is free again; the kept one's is still held.
    assert create(store, record("a2", key="ka"), now=200.0)[0].id == "a2"
    assert create(store, record("c2", key="kc"), now=200.0)[0].id == "c"


def test_purge_many_records(store: Any) -> None:
    """purge handles more records than one batch."""
    many = [record(f"r{n}", at=float(n)) for n in range(1200)]
    create(store, *many)
    for r in many:
        store.cancel(r.id, now=10.0)
    assert store.purge(now=20.0, result_ttl=5.0) == 1200
    assert store.count(RecordFilter()) == 0


# -- schedules and workers -------------------------------------------------------------------


def test_schedules_crud(store: Any) -> None:
    """put/get/list/delete schedules; put replaces; delete tells whether there was one."""
    assert store.get_schedule("nightly") is None
    assert store.list_schedules() == {}
    store.put_schedule("nightly", {"cron": "0 3 * * *", "args": [1, {"a": None}]})
    store.put_schedule("hourly", {"every": 3600.0})
    store.put_schedule("nightly", {"cron": "0 4 * * *", "paused": True})
    assert store.get_schedule("nightly") == {"cron": "0 4 * * *", "paused": True}
    assert store.list_schedules() == {
        "nightly": {"cron": "0 4 * * *", "paused": True}, "hourly": {"every": 3600.0}
    }
    assert store.delete_schedule("nightly") is True
    assert store.delete_schedule("nightly") is False
    assert list(store.list_schedules()) == ["hourly"]


def test_workers_register_unregister_and_expire(store: Any) -> None:
    """Announced workers are listed until unregistered or their ttl runs out."""
    store.register_worker("w1", {"host": "h", "queues": ["default"]}, ttl=60.0)
    store.register_worker("w2", {"host": "h2"}, ttl=0.2)
    found = {w["id"]: w for w in store.workers()}
    assert found["w1"] == {"id": "w1", "host": "h", "queues": ["default"]}
    store.unregister_worker("w1")
    deadline = time.monotonic() + 5.0
    while any(w["id"] == "w2" for w in store.workers()):
        assert time.monotonic() < deadline, "worker w2 outlived its ttl"
        time.sleep(0.02)
    assert store.workers() == []
    store.unregister_worker("never-registered")


def test_ping_and_close(store: Any) -> None:
    """ping succeeds on a reachable store."""
    store.ping()
