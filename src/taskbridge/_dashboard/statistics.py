"""Statistics over executions: per task, and for the whole bridge (the dashboard's numbers).

Every number comes from :class:`~taskbridge._dashboard.queries.ExecutionQueries`: counts,
bucketed counts and bounded duration samples, never a scan of every record. Windows bound
``enqueued_at``: "the last hour" means executions enqueued in the last hour.
"""

from __future__ import annotations

import math
import time
from typing import Any

import attrs

from taskbridge import Bridge, Record, RecordFilter, Status
from taskbridge._dashboard import views
from taskbridge._dashboard.operations import queue_depths, queue_names
from taskbridge._dashboard.problems import not_found
from taskbridge._dashboard.queries import ExecutionQueries, queries_for
from taskbridge.plugin import registered_tasks

#: Finished executions sampled for duration percentiles.
DURATION_SAMPLE = 1000
#: At most this many points in a series; longer windows get coarser steps than a minute.
MAX_POINTS = 120
RUNNING_SHOWN = 200


def counts_json(counts: dict[Status, int]) -> dict[str, int]:
    return {status.value: counts.get(status, 0) for status in Status}


def success_rate(counts: dict[Status, int]) -> float | None:
    """SUCCEEDED over executions that ended SUCCEEDED or FAILED; ``None`` before any did."""
    ended = counts.get(Status.SUCCEEDED, 0) + counts.get(Status.FAILED, 0)
    return None if ended == 0 else counts.get(Status.SUCCEEDED, 0) / ended


def percentile(values: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile (``fraction`` 0-1) of ``values``; ``None`` when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def step_for(window: float) -> float:
    """One minute, or the whole minutes that keep a series within ``MAX_POINTS``."""
    return 60.0 * max(1, math.ceil(window / 60.0 / MAX_POINTS))


@attrs.frozen
class Series:
    """Counts per step over ``[start, end)``, step-aligned so points do not jitter."""

    start: float
    step: float
    counts: tuple[int, ...]

    def to_json(self) -> list[dict[str, Any]]:
        return [
            {"t": views.iso(self.start + k * self.step), "count": n}
            for k, n in enumerate(self.counts)
        ]


class Statistics:
    """Tasks, per-task statistics and aggregate statistics for one bridge."""

    def __init__(self, bridge: Bridge, queries: ExecutionQueries | None = None) -> None:
        self.bridge = bridge
        self.queries = queries or queries_for(bridge.store)

    def _series(self, filter: RecordFilter, now: float, window: float) -> Series:
        step = step_for(window)
        end = (math.floor(now / step) + 1) * step
        start = end - math.ceil(window / step) * step
        counts = self.queries.bucketed_counts(filter, start=start, end=end, step=step)
        return Series(start, step, tuple(counts))

    def _last(self, filter: RecordFilter) -> Record | None:
        found = self.queries.page(filter, limit=1, after=None)
        return found[0] if found else None

    def tasks(self) -> dict[str, Any]:
        """Every registered task: its queue, counts by status, success rate, last run."""
        items = []
        for name, task in sorted(registered_tasks().items()):
            flt = RecordFilter(task_name=name)
            counts = self.queries.count_by_status(flt)
            last = self._last(flt)
            items.append({
                "name": name,
                "queue": task.queue or self.bridge.route(name),
                "counts": counts_json(counts),
                "total": sum(counts.values()),
                "success_rate": success_rate(counts),
                "last_run": views.execution_summary(last) if last else None,
            })
        return {"items": items}

    def task(self, name: str, window: float, *, now: float | None = None) -> dict[str, Any]:
        """Counts, success rate, duration p50/p95, throughput series and recent errors of one
        task, over executions enqueued in the last ``window`` seconds."""
        now = time.time() if now is None else now
        flt = RecordFilter(task_name=name, since=now - window)
        counts = self.queries.count_by_status(flt)
        known = name in registered_tasks() or any(counts.values())
        if not known and self._last(RecordFilter(task_name=name)) is None:
            raise not_found(f"no task named {name!r} is registered or has executions")
        durations = self.queries.durations(flt, limit=DURATION_SAMPLE)
        errors = self.queries.page(attrs.evolve(flt, status=Status.FAILED), limit=10, after=None)
        return {
            "name": name,
            "window": window,
            "counts": counts_json(counts),
            "total": sum(counts.values()),
            "success_rate": success_rate(counts),
            "duration": {
                "p50": percentile(durations, 0.50), "p95": percentile(durations, 0.95),
                "samples": len(durations),
            },
            "throughput": self._series(RecordFilter(task_name=name), now, window).to_json(),
            "failures": self._series(
                RecordFilter(task_name=name, status=Status.FAILED), now, window
            ).to_json(),
            "recent_errors": [
                dict(views.execution_summary(r), error=r.error.to_dict() if r.error else None)
                for r in errors
            ],
        }

    @staticmethod
    def workers(workers: list[dict[str, Any]], running: list[Record]) -> list[dict[str, Any]]:
        """Live workers with their pools and which of the ``running`` executions are theirs."""
        out = []
        for info in sorted(workers, key=lambda w: str(w.get("id"))):
            # Executions name their worker "host:pid[:thread]"; a forked pool child has its
            # own pid, so a worker also owns what runs on its host under an unknown pid.
            mine = f"{info.get('host')}:{info.get('pid')}"
            current = [
                r for r in running
                if r.worker == mine or (r.worker or "").startswith(mine + ":")
            ]
            out.append({
                "id": info.get("id"), "host": info.get("host"), "pid": info.get("pid"),
                "engine": info.get("engine"), "queues": info.get("queues") or [],
                "concurrency": info.get("concurrency"), "pool": info.get("pool"),
                "started_at": views.iso(info.get("started_at")),
                "current": [views.execution_summary(r) for r in current],
            })
        return out

    def overview(self, window: float, *, now: float | None = None) -> dict[str, Any]:
        """Totals by status, per-minute throughput and failure series over ``window``
        seconds, queue depths, workers and what is running."""
        now = time.time() if now is None else now
        totals = self.queries.count_by_status(RecordFilter())
        recent = self.queries.count_by_status(RecordFilter(since=now - window))
        live = self.bridge.store.workers()
        running = self.queries.page(
            RecordFilter(status=Status.RUNNING), limit=RUNNING_SHOWN, after=None
        )
        return {
            "generated_at": views.iso(now),
            "window": window,
            "totals": counts_json(totals),
            "total": sum(totals.values()),
            "window_counts": counts_json(recent),
            "success_rate": success_rate(recent),
            "throughput": self._series(RecordFilter(), now, window).to_json(),
            "failures": self._series(RecordFilter(status=Status.FAILED), now, window).to_json(),
            "queues": queue_depths(self.bridge, queue_names(self.bridge, live)),
            "workers": self.workers(live, running),
            "running": [
                dict(views.execution_summary(r), worker=r.worker,
                     started_at=views.iso(r.started_at),
                     progress=views.execution(r)["progress"])
                for r in running
            ],
        }
