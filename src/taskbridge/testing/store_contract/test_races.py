"""Idempotency claims and status transitions hold under real threads and processes."""

from __future__ import annotations

import threading

from taskbridge import RecordFilter, Status
from taskbridge.plugin import StateStore, open_store
from taskbridge.testing.store_contract.races import race_create, race_processes
from taskbridge.testing.store_contract.records import record

RACERS = 12


def test_threads_racing_create_store_one_record(store: StateStore) -> None:
    """12 threads creating under one key at once: one record stored, all see its id."""
    barrier = threading.Barrier(RACERS)
    results = race_create(store, barrier, [f"t{n}" for n in range(RACERS)], "the-key")
    assert len(results) == RACERS
    winners = [id for id, deduplicated in results if not deduplicated]
    assert len(winners) == 1
    assert {id for id, _ in results} == set(winners)
    assert store.count(RecordFilter()) == 1


def test_processes_racing_create_store_one_record(shared_store_url: str) -> None:
    """3 spawned processes of 4 threads each race create on one key: exactly one is stored."""
    results = race_processes(shared_store_url, processes=3, threads=4, key="shared-key")
    assert len(results) == RACERS
    winners = [id for id, deduplicated in results if not deduplicated]
    assert len(winners) == 1
    assert {id for id, _ in results} == set(winners)
    checker = open_store(shared_store_url)
    try:
        assert checker.count(RecordFilter()) == 1
        assert checker.get(winners[0]).idempotency_key == "shared-key"
    finally:
        checker.close()


def test_threads_racing_start_one_wins(store: StateStore) -> None:
    """12 threads starting the same attempt at once: exactly one gets the record."""
    store.create([record("job")], now=1000.0, idempotency_ttl=60.0)
    barrier = threading.Barrier(RACERS)
    won: list[str] = []
    lock = threading.Lock()

    def one(worker: str) -> None:
        barrier.wait(timeout=30)
        if store.start("job", 1, worker=worker, now=1001.0) is not None:
            with lock:
                won.append(worker)

    threads = [threading.Thread(target=one, args=(f"w{n}",)) for n in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(won) == 1
    assert store.get("job").worker == won[0]


def test_threads_racing_finish_and_cancel_end_one_way(store: StateStore) -> None:
    """12 threads finishing or canceling one running attempt: one final state, one outcome."""
    store.create([record("job", key="k")], now=1000.0, idempotency_ttl=60.0)
    store.start("job", 1, worker="w", now=1001.0)
    barrier = threading.Barrier(RACERS)
    finished: list[str] = []
    lock = threading.Lock()

    def one(n: int) -> None:
        barrier.wait(timeout=30)
        status = [Status.SUCCEEDED, Status.FAILED, Status.CANCELED][n % 3]
        if store.finish("job", 1, status, now=1002.0, idempotency_ttl=60.0) is not None:
            with lock:
                finished.append(status.value)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(finished) == 1
    assert store.get("job").status.value == finished[0]
    holder = store.claim_holder("k")
    assert holder == ("job" if finished[0] == "SUCCEEDED" else None)
