"""What SQL stores share: a record as a row of the records table (its JSON document in
``data`` beside the columns queries filter and index on), a ``RecordFilter`` as a WHERE clause
over those columns, and counting by status with it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from taskbridge._record import Record
from taskbridge._status import Status
from taskbridge._stores.base import RecordFilter

#: The columns a state change may alter (the rest are set once, when the record is inserted).
_CHANGING = ("status", "finished_at", "retried_as", "heartbeat_at", "discarded_at", "data")


def _row(record: Record) -> dict[str, Any]:
    return {
        "id": record.id, "status": record.status.value, "task_name": record.task_name,
        "queue": record.queue, "enqueued_at": record.enqueued_at,
        "finished_at": record.finished_at, "idempotency_key": record.idempotency_key,
        "retried_as": record.retried_as, "heartbeat_at": record.heartbeat_at,
        "discarded_at": record.discarded_at, "data": record.dumps(),
    }


def sql_insert_record(
    table: str, record: Record, *, param: str = "?"
) -> tuple[str, tuple[Any, ...]]:
    """``(sql, params)`` inserting ``record`` into ``table`` (``param``: see :func:`sql_where`)."""
    row = _row(record)
    return (f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join([param] * len(row))})",
            tuple(row.values()))


def sql_update_record(
    table: str, record: Record, *, param: str = "?"
) -> tuple[str, tuple[Any, ...]]:
    """``(sql, params)`` saving what a state change may have changed of ``record``."""
    row = _row(record)
    assignments = ", ".join(f"{column} = {param}" for column in _CHANGING)
    return (f"UPDATE {table} SET {assignments} WHERE id = {param}",
            (*(row[column] for column in _CHANGING), record.id))


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
