"""Racers for the concurrency tests: threads, and spawned processes that open the store by URL."""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
from typing import Any

from taskbridge.plugin import StateStore, open_store
from taskbridge.testing.store_contract.records import create_one, record


def race_create(
    store: StateStore, barrier: Any, ids: list[str], key: str
) -> list[tuple[str, bool]]:
    """Threads waiting on ``barrier`` each create one record under ``key``: per thread, the id
    that came back and whether it was deduplicated."""
    results: list[tuple[str, bool]] = []
    lock = threading.Lock()

    def one(id: str) -> None:
        barrier.wait(timeout=30)
        result = create_one(store, record(id, key=key))
        with lock:
            results.append(result)

    threads = [threading.Thread(target=one, args=(id,)) for id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def process_race(url: str, barrier: Any, ids: list[str], key: str, out: Any) -> None:
    """A spawned process: open the store at ``url`` and race ``len(ids)`` threads on ``key``."""
    store = open_store(url)
    try:
        out.put(race_create(store, barrier, ids, key))
    finally:
        store.close()


def race_processes(url: str, processes: int, threads: int, key: str) -> list[tuple[str, bool]]:
    """``processes`` spawned processes of ``threads`` threads each create under ``key`` at once
    (one barrier for all of them); every racer's result."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes * threads)
    out = context.Queue()
    started = [
        context.Process(
            target=process_race,
            args=(url, barrier, [f"p{p}t{t}" for t in range(threads)], key, out),
        )
        for p in range(processes)
    ]
    for process in started:
        process.start()
    results: list[tuple[str, bool]] = []
    reports, deadline = 0, time.monotonic() + 60
    while reports < len(started):
        try:
            results += out.get(timeout=0.2)
            reports += 1
        except queue.Empty:
            dead = [p.exitcode for p in started if p.exitcode not in (None, 0)]
            assert not dead, f"a racing process failed with exit code {dead}"
            assert time.monotonic() < deadline, "racing processes did not report in 60 s"
    for process in started:
        process.join(30)
        assert process.exitcode == 0
    return results
