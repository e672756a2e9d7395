"""What SQL stores share: a ``RecordFilter`` as a WHERE clause over the records table's
columns (``status``, ``task_name``, ``queue``, ``enqueued_at``, ``retried_as``,
``discarded_at``), and counting by status with it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from taskbridge._status import Status
from taskbridge._stores.base import RecordFilter


def sql_where(filter: RecordFilter, *, param: str = "?") -> tuple[str, list[Any]]:
    """``(" WHERE ...", params)`` selecting what ``filter`` selects (``("", [])`` for all),
    with ``param`` as the driver's placeholder (``?`` for sqlite3, ``%s`` for psycopg)."""
    clauses: list[str] = []
    params: list[Any] = []
    if filter.status is not None and not filter.status:
        clauses.append("1 = 0")  # no status at all: nothing (PostgreSQL has no "IN ()")
    elif filter.status is not None:
        clauses.append(f"status IN ({', '.join([param] * len(filter.status))})")
        params += sorted(s.value for s in filter.status)
    for column, value in (("task_name", filter.task_name), ("queue", filter.queue)):
        if value is not None:
            clauses.append(f"{column} = {param}")
            params.append(value)
    if filter.since is not None:
        clauses.append(f"enqueued_at >= {param}")
        params.append(filter.since)
    if filter.until is not None:
        clauses.append(f"enqueued_at < {param}")
        params.append(filter.until)
    if not filter.include_retried:
        clauses.append("retried_as IS NULL AND discarded_at IS NULL")
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def sql_count_by_status(
    read: Callable[[str, list[Any]], Iterable[tuple[str, int]]], table: str,
    filter: RecordFilter, *, param: str = "?",
) -> dict[Status, int]:
    """``StateStore.count`` for every status at once, in one ``GROUP BY`` query over ``table``
    run by ``read(sql, params)``: one pass over the matching index range."""
    where, params = sql_where(filter, param=param)
    rows = read(f"SELECT status, COUNT(*) FROM {table}{where} GROUP BY status", params)
    found = {Status(status): int(n) for status, n in rows}
    return {status: found.get(status, 0) for status in Status}
