"""Listing and counting by status, task, queue and time; purging old final records."""

from __future__ import annotations

from typing import Any

import pytest

from taskbridge import RecordFilter, Status
from taskbridge.plugin import StateStore
from taskbridge.testing.store_contract.records import BOOM, create, finish, ids, record, run


@pytest.fixture
def populated(store: StateStore) -> StateStore:
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
    populated: StateStore, criteria: dict[str, Any], expected: list[str]
) -> None:
    """list returns exactly the matching records newest first, and count agrees."""
    flt = RecordFilter(**criteria)
    assert ids(populated.list(flt)) == expected
    assert populated.count(flt) == len(expected)


@pytest.mark.parametrize("criteria", [{}, {"queue": "q1"}, {"status": ["FAILED", "PENDING"]},
                                      {"task_name": "add", "queue": "q2", "since": 2.0}])
def test_list_limit_and_offset_page_newest_first(
    populated: StateStore, criteria: dict[str, Any]
) -> None:
    """Pages of limit/offset concatenate to the full newest-first list."""
    flt = RecordFilter(**criteria)
    everything = ids(populated.list(flt, limit=100))
    pages = [ids(populated.list(flt, limit=2, offset=o)) for o in range(0, 10, 2)]
    assert [id for page in pages for id in page] == everything
    assert populated.list(flt, limit=0) == []
    assert populated.list(flt, offset=50) == []


def test_list_returns_full_records(populated: StateStore) -> None:
    """list returns the same records get does."""
    for found in populated.list(RecordFilter()):
        assert populated.get(found.id) == found


def test_purge_removes_old_final_records_and_their_index_entries(store: StateStore) -> None:
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


def test_purge_releases_claims(store: StateStore) -> None:
    """A purged record's claim is gone with it, not left pointing at nothing."""
    create(store, record("a", key="ka"))
    run(store, "a")
    finish(store, "a", Status.SUCCEEDED, value=1, now=100.0)
    assert store.claim_holder("ka") == "a"
    assert store.purge(now=200.0, result_ttl=50.0) == 1
    assert store.claim_holder("ka") is None


def test_purge_many_records(store: StateStore) -> None:
    """purge handles more records than one batch."""
    many = [record(f"r{n}", at=float(n)) for n in range(1200)]
    create(store, *many)
    for r in many:
        store.cancel(r.id, now=10.0)
    assert store.purge(now=20.0, result_ttl=5.0) == 1200
    assert store.count(RecordFilter()) == 0
