"""How long records live and what they remember: purge with its ttls and limit, the dead-letter
list's discard, leases, the progress log and the attempt history (CONTRACT §13, issue 9)."""

from __future__ import annotations

import threading

import pytest

from taskbridge import Envelope, RecordFilter, Status
from taskbridge.plugin import ATTEMPT_HISTORY_SIZE, PROGRESS_LOG_SIZE, StateStore, open_store
from taskbridge.testing.store_contract.records import (
    BOOM,
    create,
    finish,
    ids,
    record,
    run,
)

DEAD_LETTERS = RecordFilter(status=Status.FAILED, include_retried=False)


def ended(store: StateStore, id: str, status: Status, at: float) -> None:
    """Create ``id``, run it and end it ``status`` at time ``at``."""
    create(store, record(id, at=at - 10))
    run(store, id, now=at - 1)
    finish(store, id, status, now=at, error=None if status is Status.SUCCEEDED else BOOM)


def test_purge_keeps_failed_records_for_failed_ttl(store: StateStore) -> None:
    """With failed_ttl, FAILED records are kept longer than the others, then purged too."""
    ended(store, "ok", Status.SUCCEEDED, at=1000.0)
    ended(store, "bad", Status.FAILED, at=1000.0)
    ended(store, "stop", Status.CANCELED, at=1000.0)
    assert store.purge(now=1100.0, result_ttl=50.0, failed_ttl=500.0) == 2
    assert ids(store.list(RecordFilter())) == ["bad"]
    assert store.purge(now=1499.0, result_ttl=50.0, failed_ttl=500.0) == 0
    assert store.purge(now=1500.0, result_ttl=50.0, failed_ttl=500.0) == 1
    assert store.count(RecordFilter()) == 0


def test_purge_with_a_limit_deletes_at_most_that_many_oldest_first(store: StateStore) -> None:
    """purge(limit=n) deletes at most n expired records, the oldest of a status first, and
    running it again goes on where it stopped."""
    for n in range(5):
        ended(store, f"r{n}", Status.SUCCEEDED, at=1000.0 + n)
    create(store, record("waiting", at=999.0))
    assert store.purge(now=5000.0, result_ttl=10.0, limit=2) == 2
    assert sorted(ids(store.list(RecordFilter(status=Status.SUCCEEDED)))) == ["r2", "r3", "r4"]
    assert store.purge(now=5000.0, result_ttl=10.0, limit=2) == 2
    assert store.purge(now=5000.0, result_ttl=10.0, limit=2) == 1
    assert store.purge(now=5000.0, result_ttl=10.0, limit=2) == 0
    assert ids(store.list(RecordFilter())) == ["waiting"]


def test_dismiss_takes_a_failed_record_off_the_dead_letter_list(store: StateStore) -> None:
    """dismiss sets discarded_at on a FAILED record not yet retried: it leaves the dead-letter
    list but stays readable, counted as FAILED, and can still be retried."""
    ended(store, "a", Status.FAILED, at=1000.0)
    ended(store, "b", Status.FAILED, at=1000.0)
    dismissed = store.dismiss("a", now=1005.0)
    assert dismissed is not None and dismissed.discarded_at == 1005.0
    assert store.get("a") == dismissed
    assert ids(store.list(DEAD_LETTERS)) == ["b"] and store.count(DEAD_LETTERS) == 1
    assert store.count(RecordFilter(status=Status.FAILED)) == 2
    assert store.dismiss("a", now=1006.0) is None  # once
    assert store.mark_retried("a", "again") is not None


def test_dismiss_refuses_what_is_not_a_dead_letter(store: StateStore) -> None:
    """dismiss answers None for unknown ids, records not FAILED, and retried ones."""
    ended(store, "ok", Status.SUCCEEDED, at=1000.0)
    ended(store, "bad", Status.FAILED, at=1000.0)
    create(store, record("waiting"))
    store.mark_retried("bad", "again")
    for id in ("missing", "ok", "bad", "waiting"):
        assert store.dismiss(id, now=1.0) is None
    assert store.get("bad").discarded_at is None


def test_lease_is_held_until_it_expires_or_is_released(store: StateStore) -> None:
    """A lease goes to one holder at a time; its holder renews it; it is free once expired or
    released (only by its holder); leases are never records."""
    assert store.lease_holder("tick:1", now=100.0) is None
    assert store.lease("tick:1", "s1", now=100.0, ttl=10.0)
    assert not store.lease("tick:1", "s2", now=105.0, ttl=10.0)
    assert store.lease_holder("tick:1", now=109.9) == "s1"
    assert store.lease("tick:1", "s1", now=109.0, ttl=100.0)  # renewed
    assert store.lease_holder("tick:1", now=150.0) == "s1"
    assert store.lease_holder("tick:1", now=209.0) is None
    assert store.lease("tick:1", "s2", now=209.0, ttl=10.0)  # expired: taken over
    store.release_lease("tick:1", "s1")
    assert store.lease_holder("tick:1", now=210.0) == "s2"
    store.release_lease("tick:1", "s2")
    assert store.lease_holder("tick:1", now=210.0) is None
    assert store.count(RecordFilter()) == 0
    assert store.purge(now=10_000.0, result_ttl=1.0) == 0


def test_a_lease_raced_for_goes_to_one_holder(shared_store_url: str) -> None:
    """Eight threads, each with its own connection, race for one lease: exactly one gets it."""
    racers = 8
    barrier = threading.Barrier(racers)
    won: list[str] = []

    def race(n: int) -> None:
        store = open_store(shared_store_url)
        try:
            barrier.wait(timeout=60)
            if store.lease("tick:race", f"s{n}", now=100.0, ttl=60.0):
                won.append(f"s{n}")
        finally:
            store.close()

    threads = [threading.Thread(target=race, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1


def test_progress_log_keeps_the_latest_reports_in_order(store: StateStore) -> None:
    """Each progress report joins the record's log with its time; the log keeps the latest
    PROGRESS_LOG_SIZE, oldest first; progress is the latest."""
    create(store, record("a"))
    run(store, "a")
    for n in range(PROGRESS_LOG_SIZE + 3):
        store.set_progress("a", n % 100, f"step {n}", now=2000.0 + n)
    got = store.get("a")
    assert len(got.progress_log) == PROGRESS_LOG_SIZE
    assert [p.message for p in got.progress_log] == [
        f"step {n}" for n in range(3, PROGRESS_LOG_SIZE + 3)]
    assert got.progress_log[0].at == 2003.0
    last = PROGRESS_LOG_SIZE + 2
    assert got.progress == (float(last % 100), f"step {last}")


def test_attempt_history_records_each_attempt(store: StateStore) -> None:
    """start adds an attempt (worker, start); finish ends it (end, outcome, error, CPU time,
    peak memory); a retried execution keeps one entry per attempt."""
    create(store, record("a"))
    store.start("a", 1, worker="w1", now=1001.0)
    retry = Envelope(id="a", task_name="tasks.add", attempt=2, enqueued_at=1000.0)
    store.finish("a", 1, Status.RETRYING, now=1002.0, idempotency_ttl=60.0, error=BOOM,
                 run_at=1003.0, envelope=retry, cpu_time=0.5, peak_memory=2048)
    running = store.start("a", 2, worker="w2", now=1004.0)
    assert running is not None and len(running.attempt_history) == 2
    assert running.attempt_history[1].worker == "w2"
    assert running.attempt_history[1].outcome is None
    done = finish(store, "a", Status.SUCCEEDED, attempt=2, now=1005.0, value=1)
    assert done is not None and store.get("a") == done
    first, second = done.attempt_history
    assert (first.attempt, first.worker, first.started_at, first.finished_at) == (
        1, "w1", 1001.0, 1002.0)
    assert (first.outcome, first.cpu_time, first.peak_memory) == ("RETRYING", 0.5, 2048)
    assert first.error is not None and first.error.message == BOOM.message
    assert (second.attempt, second.outcome, second.error, second.cpu_time) == (
        2, "SUCCEEDED", None, None)


@pytest.mark.parametrize("attempts", [ATTEMPT_HISTORY_SIZE + 2])
def test_attempt_history_keeps_the_latest_attempts(store: StateStore, attempts: int) -> None:
    """The history keeps the latest ATTEMPT_HISTORY_SIZE attempts."""
    asked = record("a")
    create(store, asked)
    for n in range(1, attempts + 1):
        store.start("a", n, worker=f"w{n}", now=float(n))
        status = Status.SUCCEEDED if n == attempts else Status.RETRYING
        store.finish("a", n, status, now=n + 0.5, idempotency_ttl=60.0, error=BOOM,
                     envelope=asked.envelope)
    history = store.get("a").attempt_history
    assert [a.attempt for a in history] == list(range(3, attempts + 1))
    assert history[-1].outcome == "SUCCEEDED" and history[0].worker == "w3"


def test_a_chain_record_keeps_its_failing_step(store: StateStore) -> None:
    """finish FAILED stores the envelope given (a chain's failing step), with its own
    arguments, which differ from the record's."""
    create(store, record("chain"))
    run(store, "chain")
    step = Envelope(id="step", task_name="tasks.gate", args=(2, "open"), kwargs={"k": 1},
                    attempt=3, enqueued_at=999.0, chain_id="chain")
    failed = finish(store, "chain", Status.FAILED, error=BOOM, envelope=step)
    assert failed is not None and failed.envelope == step
    assert store.get("chain").envelope == step
