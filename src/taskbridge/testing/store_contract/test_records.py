"""Records and idempotency claims: create, get, discard, and when a key is held."""

from __future__ import annotations

from typing import Any

import pytest

from taskbridge import Envelope, Record, RecordFilter, ResultNotFound, Status
from taskbridge.plugin import StateStore
from taskbridge.testing.store_contract.records import (
    BOOM,
    TTL,
    create,
    create_one,
    finish,
    outcome,
    record,
    run,
)


def test_satisfies_protocol(store: StateStore) -> None:
    """Every store is a StateStore."""
    assert isinstance(store, StateStore)


def test_create_stores_and_returns_records_in_order(store: StateStore) -> None:
    """create returns its input records in order and get reads each back unchanged."""
    first = record("a", key="k1", at=1.5)
    second = record("b", at=2.25)
    assert create(store, first, second) == [first, second]
    assert store.get("a") == first
    assert store.get("b") == second


def test_record_round_trips_every_field(store: StateStore) -> None:
    """All record fields, nested JSON and the envelope survive storage."""
    envelope = Envelope(id="r", task_name="tasks.add", args=(1,), attempt=2, enqueued_at=5.0)
    args: tuple[Any, ...] = ("é", [1, 2])
    original = Record(
        id="r", task_name="tasks.add", queue="q.1", status=Status.PENDING, args=args,
        kwargs={"a": {"b": [None, True, 1.25]}}, priority=7, max_attempts=4,
        idempotency_key="key:with:colons", enqueued_at=1712345678.123456, run_at=1712345679.5,
        envelope=envelope, first_step="c1",
    )
    create(store, original)
    assert store.get("r") == original


def test_create_deduplicates_against_live_claim(store: StateStore) -> None:
    """A second record with a live key is not stored; the holder comes back, as stored."""
    create(store, record("a", key="k"))
    [again] = create(store, record("b", key="k"), now=1500.0)
    assert again.id == "a" and again == store.get("a")
    assert store.get_many(["b"]) == [None]
    assert store.count(RecordFilter()) == 1


def test_create_deduplicates_within_one_batch(store: StateStore) -> None:
    """An earlier record of the same batch holds its key for later ones."""
    asked = [record("a", key="k"), record("b", key="k"), record("c", key="other")]
    out = create(store, *asked)
    assert outcome(asked, out) == [("a", False), ("a", True), ("c", False)]
    assert store.count(RecordFilter()) == 2


def test_records_without_key_never_deduplicate(store: StateStore) -> None:
    """Records without an idempotency key (or with an empty one) are always stored."""
    asked = [record("a"), record("b"), record("c", key=""), record("d", key="")]
    out = create(store, *asked)
    assert not any(deduplicated for _, deduplicated in outcome(asked, out))
    assert store.count(RecordFilter()) == 4


def test_running_and_retrying_hold_the_key(store: StateStore) -> None:
    """RUNNING and RETRYING records keep their key claimed."""
    create(store, record("a", key="k"))
    run(store, "a")
    assert create(store, record("b", key="k"), now=5000.0)[0].id == "a"
    finish(store, "a", Status.RETRYING, error=BOOM, run_at=1010.0)
    assert create(store, record("c", key="k"), now=5000.0)[0].id == "a"


def test_succeeded_holds_key_for_idempotency_ttl(store: StateStore) -> None:
    """A SUCCEEDED record holds its key until finished_at + ttl, then the key is free."""
    create(store, record("a", key="k"))
    run(store, "a")
    finish(store, "a", Status.SUCCEEDED, value=3, now=1002.0)
    assert create_one(store, record("b", key="k"), now=1002.0 + TTL - 0.5) == ("a", True)
    assert create_one(store, record("c", key="k"), now=1002.0 + TTL) == ("c", False)
    assert create(store, record("d", key="k"), now=9999.0)[0].id == "c"


@pytest.mark.parametrize("ending", [Status.FAILED, Status.CANCELED])
def test_failed_and_canceled_release_the_key(store: StateStore, ending: Status) -> None:
    """FAILED and CANCELED records release their key at once."""
    create(store, record("a", key="k"))
    run(store, "a")
    finish(store, "a", ending, error=BOOM)
    assert create_one(store, record("b", key="k"), now=1003.0) == ("b", False)


def test_cancel_of_pending_releases_the_key(store: StateStore) -> None:
    """Canceling a waiting record releases its key."""
    create(store, record("a", key="k"))
    store.cancel("a", now=1001.0)
    assert create(store, record("b", key="k"))[0].id == "b"


def test_claim_holder_names_the_record_until_released(store: StateStore) -> None:
    """claim_holder names the record a key's claim points at, and None once it is released."""
    assert store.claim_holder("k") is None
    create(store, record("a", key="k"), record("b", key="k2"))
    assert (store.claim_holder("k"), store.claim_holder("k2")) == ("a", "b")
    run(store, "a")
    finish(store, "a", Status.SUCCEEDED, value=1)
    assert store.claim_holder("k") == "a"
    store.cancel("b", now=1003.0)
    assert store.claim_holder("k2") is None
    create(store, record("c", key="k"), now=1002.0 + TTL)
    assert store.claim_holder("k") == "c"


def test_discard_deletes_only_pending_and_releases_keys(store: StateStore) -> None:
    """discard removes PENDING records and frees their keys; others and unknown ids stay."""
    create(store, record("a", key="k"), record("b", key="k2"))
    run(store, "b")
    store.discard(["a", "b", "missing"])
    assert store.get_many(["a", "b"])[0] is None
    assert store.get("b").status is Status.RUNNING
    assert create(store, record("c", key="k"))[0].id == "c"
    assert create(store, record("d", key="k2"))[0].id == "b"
    assert store.count(RecordFilter(status=Status.PENDING)) == 1


def test_get_unknown_raises_result_not_found_naming_the_id(store: StateStore) -> None:
    """get of an unknown id raises ResultNotFound, naming the id."""
    with pytest.raises(ResultNotFound, match="nope-42"):
        store.get("nope-42")


def test_get_many_keeps_order_with_none_for_unknown(store: StateStore) -> None:
    """get_many answers in input order with None for unknown ids."""
    create(store, record("a"), record("b"))
    found = store.get_many(["b", "x", "a"])
    assert [r.id if r else None for r in found] == ["b", None, "a"]
    assert store.get_many([]) == []


def test_no_native_writes_is_a_no_op(store: StateStore) -> None:
    """write([]) and create(writes={}) write nothing beyond the records."""
    store.write([])
    store.create([record("a")], now=1.0, idempotency_ttl=TTL, writes={})
    assert store.count(RecordFilter()) == 1
