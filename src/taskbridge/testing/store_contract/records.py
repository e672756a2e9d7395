"""Helpers for the contract tests: recognisable records and short calls with fixed times."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from taskbridge import ErrorInfo, Record, Status
from taskbridge.plugin import StateStore

TTL = 60.0
BOOM = ErrorInfo("ValueError", "boom", "Traceback ...")


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
    args: tuple[Any, ...] = (1, "two", [3.5])
    return Record(
        id=id, task_name=task, queue=queue, status=status, args=args,
        kwargs={"k": {"nested": None}}, enqueued_at=at, idempotency_key=key, max_attempts=3,
    )


def create(store: StateStore, *records: Record, now: float = 1000.0) -> list[Record]:
    return list(store.create(list(records), now=now, idempotency_ttl=TTL))


def outcome(asked: Sequence[Record], stored: Sequence[Record]) -> list[tuple[str, bool]]:
    """Per record asked: the id stored, and whether it was deduplicated (another came back)."""
    return [(s.id, s.id != a.id) for a, s in zip(asked, stored, strict=True)]


def create_one(store: StateStore, asked: Record, now: float = 1000.0) -> tuple[str, bool]:
    """Create one record; the id that came back and whether it was deduplicated."""
    [result] = outcome([asked], create(store, asked, now=now))
    return result


def run(store: StateStore, id: str, attempt: int = 1, now: float = 1001.0) -> Record:
    started = store.start(id, attempt, worker="w1", now=now)
    assert started is not None
    return started


def finish(
    store: StateStore, id: str, status: Status, attempt: int = 1, **kw: Any
) -> Record | None:
    kw.setdefault("now", 1002.0)
    return store.finish(id, attempt, status, idempotency_ttl=TTL, **kw)


def ids(records: Sequence[Record]) -> list[str]:
    return [r.id for r in records]
