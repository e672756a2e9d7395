"""Idempotency claims and status transitions hold under real threads and processes."""

from __future__ import annotations

import multiprocessing
import queue
import runpy
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from taskbridge._stores.base import RecordFilter

from ._support import open_store, race_create, record

RACERS = 12


def test_threads_racing_create_store_one_record(store: Any) -> None:
    """12 threads creating under one key at once: one record stored, all see its id."""
    barrier = threading.Barrier(RACERS)
    results = race_create(store, barrier, [f"t{n}" for n in range(RACERS)], "the-key")
    assert len(results) == RACERS
    winners = [id for id, deduplicated in results if not deduplicated]
    assert len(winners) == 1
    assert {id for id, _ in results} == set(winners)
    assert store.count(RecordFilter()) == 1


def test_processes_racing_create_store_one_record(store_spec: tuple[str, ...]) -> None:
    """3 spawned processes of 4 threads each race create on one key: exactly one is stored."""
    if store_spec[0] == "memory":
        pytest.skip("a memory store is private to its process")
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(RACERS)
    out = context.Queue()
    processes = [
        context.Process(
            target=runpy.run_path,
            args=(str(Path(__file__).with_name("_support.py")),),
            kwargs={"run_name": "__racer__", "init_globals": {"RACE": {
                "spec": store_spec, "barrier": barrier, "ids": [f"p{p}t{t}" for t in range(4)],
                "key": "shared-key", "out": out,
            }}},
        )
        for p in range(3)
    ]
    for process in processes:
        process.start()
    results = _collect(out, processes)
    assert len(results) == RACERS
    winners = [id for id, deduplicated in results if not deduplicated]
    assert len(winners) == 1
    assert {id for id, _ in results} == set(winners)
    checker = open_store(store_spec)
    try:
        assert checker.count(RecordFilter()) == 1
        assert checker.get(winners[0]).idempotency_key == "shared-key"
    finally:
        checker.close()


def _collect(out: Any, processes: list[Any]) -> list[tuple[str, bool]]:
    """Every process's results; fails fast when a process dies without reporting."""
    results: list[tuple[str, bool]] = []
    reports, deadline = 0, time.monotonic() + 60
    while reports < len(processes):
        try:
            results += out.get(timeout=0.2)
            reports += 1
        except queue.Empty:
            dead = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
            assert not dead, f"a racing process failed with exit code {dead}"
            assert time.monotonic() < deadline, "racing processes did not report in 60 s"
    for process in processes:
        process.join(30)
        assert process.exitcode == 0
    return results


def test_threads_racing_start_one_wins(store: Any) -> None:
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
