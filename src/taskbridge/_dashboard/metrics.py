"""Prometheus metrics at ``…/metrics``, computed from the store at each scrape.

Each dashboard has its own registry (nothing global), so several bridges in one process
never mix their numbers. Needs ``prometheus-client`` (``pip install taskbridge[dashboard]``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from taskbridge import Bridge, RecordFilter, Status
from taskbridge._dashboard.operations import queue_depths, queue_names
from taskbridge._dashboard.problems import Problem
from taskbridge.plugin import registered_tasks

if TYPE_CHECKING:
    from taskbridge._dashboard.statistics import Statistics

#: Finished executions per task whose durations make up the histogram.
DURATION_SAMPLE = 500
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class _Collector:
    def __init__(self, bridge: Bridge, statistics: Statistics) -> None:
        self.bridge = bridge
        self.queries = statistics.queries

    def describe(self) -> list[Any]:
        return []  # computed per scrape; nothing to describe up front

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily

        executions = GaugeMetricFamily(
            "taskbridge_executions", "Executions in the store, by task and status.",
            labels=["task", "status"])
        durations = HistogramMetricFamily(
            "taskbridge_execution_duration_seconds",
            f"Durations of the last {DURATION_SAMPLE} finished executions of each task.",
            labels=["task"])
        for name in sorted(registered_tasks()):
            flt = RecordFilter(task_name=name)
            for status, count in self.queries.count_by_status(flt).items():
                executions.add_metric([name, status.value], count)
            sample = self.queries.durations(flt, limit=DURATION_SAMPLE)
            buckets = [(str(b), sum(1 for d in sample if d <= b)) for b in BUCKETS]
            buckets.append(("+Inf", len(sample)))
            durations.add_metric([name], buckets, sum(sample))
        yield executions
        yield durations

        totals = self.queries.count_by_status(RecordFilter())
        retrying = GaugeMetricFamily(
            "taskbridge_retrying_executions", "Executions waiting for another attempt.")
        retrying.add_metric([], totals[Status.RETRYING])
        yield retrying
        failed_open = self.bridge.store.count(
            RecordFilter(status=Status.FAILED, include_retried=False))
        retried = GaugeMetricFamily(
            "taskbridge_retried_executions",
            "FAILED executions re-enqueued by a retry (bridge.retry, the dashboard, the CLI).")
        retried.add_metric([], max(0, totals[Status.FAILED] - failed_open))
        yield retried
        dead = GaugeMetricFamily(
            "taskbridge_dead_letters", "FAILED executions not retried (the dead-letter list).")
        dead.add_metric([], failed_open)
        yield dead

        workers = self.bridge.store.workers()
        depth = GaugeMetricFamily(
            "taskbridge_queue_depth", "Messages waiting on each queue.", labels=["queue"])
        depths = queue_depths(self.bridge, queue_names(self.bridge, workers))
        for queue, waiting in depths.items():
            if waiting is not None:
                depth.add_metric([queue], waiting)
        yield depth
        live = GaugeMetricFamily("taskbridge_workers", "Live workers, by engine and pool.",
                                 labels=["engine", "pool"])
        by_kind: dict[tuple[str, str], int] = {}
        for worker in workers:
            kind = (str(worker.get("engine") or ""), str(worker.get("pool") or ""))
            by_kind[kind] = by_kind.get(kind, 0) + 1
        for (engine, pool), count in sorted(by_kind.items()):
            live.add_metric([engine, pool], count)
        yield live


class DashboardMetrics:
    """One registry with one collector reading this bridge's store."""

    def __init__(self, bridge: Bridge, statistics: Statistics) -> None:
        try:
            from prometheus_client import CollectorRegistry
        except ImportError as exc:
            raise Problem(501, "metrics need prometheus-client: "
                               "pip install 'taskbridge[dashboard]'") from exc
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Collector(bridge, statistics))

    def render(self) -> tuple[str, bytes]:
        """The content type and the text exposition of every metric now."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return CONTENT_TYPE_LATEST, generate_latest(self.registry)
