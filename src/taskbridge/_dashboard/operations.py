"""The operations on executions, framework-free: list, look up, retry, cancel, health.

Every answer is a dict of JSON values (the API's bodies); every refusal is a
:class:`~taskbridge._dashboard.problems.Problem` carrying its HTTP status.
"""

from __future__ import annotations

import builtins
import time
from typing import Any

import attrs

from taskbridge import (
    Bridge,
    InvalidTaskOptions,
    Record,
    RecordFilter,
    ResultNotFound,
    Status,
    TaskBridgeError,
)
from taskbridge._dashboard import views
from taskbridge._dashboard.params import MAX_LIMIT
from taskbridge._dashboard.problems import Problem, conflict, not_found
from taskbridge._dashboard.queries import Cursor, ExecutionQueries, queries_for
from taskbridge.plugin import registered_tasks


@attrs.frozen
class ExecutionQuery:
    """What ``GET …/api/executions`` asks for; ``id`` searches by id or id prefix."""

    status: frozenset[Status] | None = None
    task: str | None = None
    queue: str | None = None
    since: float | None = None
    until: float | None = None
    id: str | None = None
    limit: int = 50
    cursor: str | None = None

    def filter(self) -> RecordFilter:
        return RecordFilter(
            status=self.status, task_name=self.task, queue=self.queue,
            since=self.since, until=self.until,
        )


class Executions:
    """Listing and acting on executions through the bridge's public API and store."""

    def __init__(self, bridge: Bridge, queries: ExecutionQueries | None = None) -> None:
        self.bridge = bridge
        self.queries = queries or queries_for(bridge.store)

    def _record(self, id: str) -> Record:
        try:
            return self.bridge.store.get(id)
        except ResultNotFound:
            raise not_found(f"no execution has id {id!r}") from None

    def list(self, query: ExecutionQuery) -> dict[str, Any]:
        """A page of executions, newest first, and the cursor of the next page (or null)."""
        limit = max(1, min(query.limit, MAX_LIMIT))
        flt = query.filter()
        if query.id:
            found = [r for r in self.queries.find_ids(query.id, limit=limit) if flt.matches(r)]
            return {"items": [views.execution(r) for r in found], "next_cursor": None}
        try:
            after = Cursor.decode(query.cursor) if query.cursor else None
        except ValueError as exc:
            raise Problem(400, str(exc), errors={"cursor": str(exc)}) from None
        records = self.queries.page(flt, limit=limit + 1, after=after)
        more = len(records) > limit
        records = records[:limit]
        return {
            "items": [views.execution(r) for r in records],
            "next_cursor": Cursor.after(records[-1]).encode() if more else None,
        }

    def get(self, id: str) -> dict[str, Any]:
        """One execution; 404 for an unknown id."""
        return views.execution(self._record(id))

    def retry(self, id: str) -> dict[str, Any]:
        """Re-enqueue a FAILED or CANCELED execution as a new one: 202 ``{"id": new}``.

        FAILED goes through ``bridge.retry`` (the old record links to the new one). CANCELED
        is enqueued again from its record, with its queue, priority and idempotency key, as
        ``bridge.retry`` would; that needs the task registered in this process.
        """
        record = self._record(id)
        if record.status is Status.FAILED:
            try:
                return {"id": self.bridge.retry(id).id}
            except InvalidTaskOptions as exc:
                raise conflict(str(exc)) from None
        if record.status is not Status.CANCELED:
            raise conflict(
                f"execution {id} is {record.status.value}; only FAILED or CANCELED executions "
                "can be retried"
            )
        task = registered_tasks().get(record.task_name)
        if task is None:
            raise conflict(
                f"task {record.task_name!r} is not registered in this process, so its canceled "
                "execution cannot be enqueued again here; start the dashboard with --imports "
                "naming the module that defines it"
            )
        timeout = record.envelope.timeout if record.envelope is not None else None
        again = task.using(
            bridge=self.bridge, queue=record.queue, priority=record.priority or None,
            idempotency_key=record.idempotency_key, timeout=timeout,
        )
        try:
            return {"id": again.enqueue(*record.args, **record.kwargs).id}
        except TaskBridgeError as exc:
            raise conflict(f"could not enqueue {record.task_name} again: {exc}") from None

    def cancel(self, id: str) -> dict[str, Any]:
        """Cancel a PENDING/RETRYING execution, or ask a RUNNING one to stop; 409 when final."""
        record = self._record(id)
        if record.status.is_final:
            raise conflict(f"execution {id} is already {record.status.value}")
        return views.execution(self.bridge.cancel(id).record)

    def recent_failures(self, filter: RecordFilter, limit: int) -> builtins.list[Record]:
        return self.queries.page(
            attrs.evolve(filter, status=Status.FAILED), limit=limit, after=None
        )


def queue_names(bridge: Bridge, workers: list[dict[str, Any]]) -> list[str]:
    """Every queue the dashboard knows of: the default, routes, tasks' and workers' queues."""
    names = {bridge.settings.default_queue, *bridge.settings.routes.values()}
    names.update(t.queue for t in registered_tasks().values() if t.queue)
    for worker in workers:
        names.update(worker.get("queues") or ())
    return sorted(names)


def queue_depths(bridge: Bridge, names: list[str]) -> dict[str, int | None]:
    """Messages waiting per queue; ``None`` where the backend could not say."""
    depths: dict[str, int | None] = {}
    for name in names:
        try:
            depths[name] = int(bridge.backend.queue_depth(name))
        except Exception:
            depths[name] = None
    return depths


def health(bridge: Bridge) -> tuple[int, dict[str, Any]]:
    """200 when the store and the backend answer, 503 otherwise, with what was found."""
    report: dict[str, Any] = {
        "ok": True, "engine": bridge.url.engine, "url": bridge.url.redacted(),
        "store": "ok", "backend": "ok", "checked_at": views.iso(time.time()),
        "queues": {}, "workers": 0, "failed": None,
    }
    try:
        bridge.store.ping()
        workers = bridge.store.workers()
        report["workers"] = len(workers)
        report["failed"] = bridge.store.count(
            RecordFilter(status=Status.FAILED, include_retried=False)
        )
    except Exception as exc:
        report.update(ok=False, store=f"unreachable: {exc}")
        workers = []
    names = queue_names(bridge, workers)
    try:
        report["queues"] = {name: int(bridge.backend.queue_depth(name)) for name in names}
    except Exception as exc:
        report.update(ok=False, backend=f"unreachable: {exc}")
    return (200 if report["ok"] else 503), report
