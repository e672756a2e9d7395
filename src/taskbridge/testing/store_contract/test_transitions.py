"""State changes: start, finish, heartbeat, progress, cancel, mark_retried, stale."""

from __future__ import annotations

import pytest

from taskbridge import Envelope, InvalidTransition, ResultNotFound, Status
from taskbridge.plugin import StateStore
from taskbridge.testing.store_contract.records import (
    BOOM,
    TTL,
    create,
    finish,
    ids,
    record,
    run,
)


def test_start_moves_waiting_to_running(store: StateStore) -> None:
    """start sets RUNNING, attempts, started_at, heartbeat_at and worker."""
    create(store, record("a"))
    started = store.start("a", 1, worker="w1", now=1001.5)
    assert started is not None
    assert (started.status, started.attempts, started.started_at) == (Status.RUNNING, 1, 1001.5)
    assert (started.heartbeat_at, started.worker) == (1001.5, "w1")
    assert store.get("a") == started


def test_start_guards(store: StateStore) -> None:
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


def test_start_refuses_cancel_requested_retrying(store: StateStore) -> None:
    """A RETRYING record whose cancel was requested while running never starts again."""
    create(store, record("a"))
    run(store, "a")
    store.cancel("a", now=1001.5)
    finish(store, "a", Status.RETRYING, error=BOOM, run_at=1005.0)
    assert store.start("a", 2, worker="w", now=1006.0) is None


def test_retrying_record_starts_next_attempt(store: StateStore) -> None:
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


def test_finish_succeeded_stores_value(store: StateStore) -> None:
    """SUCCEEDED stores the value and finished_at."""
    create(store, record("a"))
    run(store, "a")
    done = finish(store, "a", Status.SUCCEEDED, value={"sum": [1, 2.5, None]}, now=1003.25)
    assert done is not None and done.value == {"sum": [1, 2.5, None]}
    assert (done.status, done.finished_at) == (Status.SUCCEEDED, 1003.25)
    assert store.get("a") == done


def test_finish_failed_stores_error(store: StateStore) -> None:
    """FAILED stores the error and finished_at."""
    create(store, record("a"))
    run(store, "a")
    done = finish(store, "a", Status.FAILED, error=BOOM, now=1004.0)
    assert done is not None and done.error == BOOM and done.finished_at == 1004.0
    assert store.get("a") == done


def test_finish_guards(store: StateStore) -> None:
    """finish needs RUNNING with that attempt: not pending, not twice, not another attempt."""
    create(store, record("a"), record("b"))
    assert finish(store, "a", Status.SUCCEEDED) is None
    run(store, "a")
    assert finish(store, "a", Status.SUCCEEDED, attempt=2) is None
    assert finish(store, "a", Status.SUCCEEDED, value=1) is not None
    assert finish(store, "a", Status.FAILED, error=BOOM) is None
    assert store.get("a").status is Status.SUCCEEDED
    assert finish(store, "missing", Status.SUCCEEDED) is None


@pytest.mark.parametrize("wrong", [Status.PENDING, Status.RUNNING])
def test_finish_refuses_a_status_running_cannot_become(store: StateStore, wrong: Status) -> None:
    """finish as PENDING or RUNNING is not a transition: InvalidTransition, nothing changes."""
    create(store, record("a"))
    running = run(store, "a")
    with pytest.raises(InvalidTransition, match=f"RUNNING → {wrong.value}"):
        finish(store, "a", wrong)
    assert store.get("a") == running


def test_heartbeat_returns_cancel_flag(store: StateStore) -> None:
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


def test_set_progress(store: StateStore) -> None:
    """set_progress stores the latest report; unknown ids are ignored, not created."""
    create(store, record("a"))
    store.set_progress("a", 10, "starting")
    store.set_progress("a", 55.5, "halfway")
    assert store.get("a").progress == (55.5, "halfway")
    store.set_progress("missing", 1, "x")
    assert store.get_many(["missing"]) == [None]


@pytest.mark.parametrize("waiting", ["PENDING", "RETRYING"])
def test_cancel_waiting_record(store: StateStore, waiting: str) -> None:
    """A waiting record becomes CANCELED with finished_at."""
    create(store, record("a"))
    if waiting == "RETRYING":
        run(store, "a")
        finish(store, "a", Status.RETRYING, error=BOOM, run_at=1003.0)
    canceled = store.cancel("a", now=1009.0)
    assert (canceled.status, canceled.finished_at) == (Status.CANCELED, 1009.0)
    assert store.get("a") == canceled


def test_cancel_running_requests_cancel(store: StateStore) -> None:
    """A RUNNING record stays RUNNING with cancel_requested set."""
    create(store, record("a"))
    run(store, "a")
    asked = store.cancel("a", now=1009.0)
    assert asked.status is Status.RUNNING and asked.cancel_requested
    assert asked.finished_at is None
    assert store.get("a").cancel_requested


@pytest.mark.parametrize("ending", [Status.SUCCEEDED, Status.FAILED, Status.CANCELED])
def test_cancel_final_record_changes_nothing(store: StateStore, ending: Status) -> None:
    """A final record is returned unchanged."""
    create(store, record("a"))
    run(store, "a")
    done = finish(store, "a", ending, error=BOOM)
    assert store.cancel("a", now=2000.0) == done
    assert store.get("a") == done


def test_cancel_unknown_raises(store: StateStore) -> None:
    """cancel of an unknown id raises ResultNotFound."""
    with pytest.raises(ResultNotFound, match="ghost"):
        store.cancel("ghost", now=1.0)


def test_mark_retried_exactly_once(store: StateStore) -> None:
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


def test_stale_finds_running_with_old_heartbeat(store: StateStore) -> None:
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


def test_final_states_never_change(store: StateStore) -> None:
    """No operation moves a SUCCEEDED, FAILED or CANCELED record (TRANSITIONS allow nothing)."""
    create(store, record("s"), record("f"), record("c"))
    for id, ending in (("s", Status.SUCCEEDED), ("f", Status.FAILED), ("c", Status.CANCELED)):
        run(store, id)
        done = finish(store, id, ending, error=BOOM)
        assert store.start(id, 2, worker="w", now=3000.0) is None
        assert store.heartbeat(id, 1, now=3000.0) is None
        assert store.finish(id, 1, Status.FAILED, now=3000.0, idempotency_ttl=TTL) is None
        assert store.cancel(id, now=3000.0) == done
        assert store.get(id).status is ending
