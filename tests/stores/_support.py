"""Opening stores by a picklable description, so spawned processes can open the same store."""

from __future__ import annotations

import threading
from typing import Any

from taskbridge._record import Record
from taskbridge._status import Status
from taskbridge._stores.base import StateStore
from taskbridge._stores.memory import MemoryStore


def open_store(spec: tuple[str, ...]) -> Any:
    """``("memory",)``, ``("redis", url, namespace)`` or ``("sqlite", path)`` -> a store."""
    kind = spec[0]
    if kind == "memory":
        return MemoryStore()
    if kind == "redis":
        from taskbridge._stores.redis import RedisStore

        return RedisStore(spec[1], namespace=spec[2])
    from taskbridge._stores.sqlite import SQLiteStore

    return SQLiteStore(spec[1])


def record(
    id: str,
    *,
    at: float = 1000.0,
    key: str | None = None,
    task: str = "tasks.add",
    queue: str = "default",
    status: Status = Status.PENDING,
) -> Record:
    """A PENDING record with recognisable arguments."""
    return Record(
        id=id, task_name=task, queue=queue, status=status, args=(1, "two", [3.5]),
        kwargs={"k": {"nested": None}}, enqueued_at=at, idempotency_key=key, max_attempts=3,
    )


def race_create(
    store: StateStore, barrier: Any, ids: list[str], key: str
) -> list[tuple[str, bool]]:
    """Threads waiting on ``barrier`` each create one record under ``key``; their results."""
    results: list[tuple[str, bool]] = []
    lock = threading.Lock()

    def one(id: str) -> None:
        barrier.wait(timeout=30)
        [stored] = store.create([record(id, key=key)], now=1000.0, idempotency_ttl=60.0)
        with lock:
            results.append((stored.id, stored.deduplicated))

    threads = [threading.Thread(target=one, args=(id,)) for id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def process_race(spec: tuple[str, ...], barrier: Any, ids: list[str], key: str, out: Any) -> None:
    """A spawned process: open the store and race ``len(ids)`` threads on ``key``."""
    store = open_store(spec)
    try:
        out.put(race_create(store, barrier, ids, key))
    finally:
        store.close()


if __name__ == "__racer__":
    # A spawned process runs this file through runpy.run_path, which needs no sys.path entry
    # for the tests (pytest imports them with --import-mode=importlib).
    process_race(**globals()["RACE"])
