"""Tasks, per-task and aggregate statistics, health and metrics, on every store kind."""

from __future__ import annotations

import os
import socket
import time

import pytest

from conftest import Api, put_record
from taskbridge import Bridge, Status
from taskbridge._dashboard.http import Handler
from taskbridge._dashboard.security import allow_everyone
from taskbridge._dashboard.statistics import percentile, step_for


def test_tasks_lists_registered_tasks_with_counts(bridge: Bridge, api: Api) -> None:
    """Every registered task appears with counts by status, success rate and last run."""
    for status in (Status.SUCCEEDED, Status.SUCCEEDED, Status.SUCCEEDED, Status.FAILED):
        last = put_record(bridge, task="dash.add", status=status)
    tasks = {t["name"]: t for t in api.get("/api/tasks")["items"]}
    assert {"dash.add", "dash.echo", "dash.fails_once", "dash.tick"} <= set(tasks)
    add = tasks["dash.add"]
    assert add["counts"]["SUCCEEDED"] == 3 and add["counts"]["FAILED"] == 1
    assert add["total"] == 4 and add["success_rate"] == 0.75
    assert add["last_run"]["id"] == last.id
    assert tasks["dash.echo"]["success_rate"] is None and tasks["dash.echo"]["last_run"] is None


def test_task_stats_over_a_window(bridge: Bridge, api: Api) -> None:
    """Per-task stats: window counts, duration percentiles, series and recent errors."""
    now = time.time()
    put_record(bridge, status=Status.SUCCEEDED, at=now - 7200)  # outside the 1 h window
    for i, duration in enumerate((1.0, 2.0, 3.0, 4.0)):
        put_record(bridge, status=Status.SUCCEEDED, at=now - 100 + i, duration=duration)
    failed = put_record(bridge, status=Status.FAILED, at=now - 50, duration=10.0)
    stats = api.get("/api/tasks/dash.add/stats", window="1h")
    assert stats["counts"]["SUCCEEDED"] == 4 and stats["counts"]["FAILED"] == 1
    assert stats["success_rate"] == 0.8
    assert stats["duration"]["samples"] == 5
    assert stats["duration"]["p50"] == pytest.approx(3.0)
    assert stats["duration"]["p95"] == pytest.approx(10.0)
    assert sum(p["count"] for p in stats["throughput"]) == 5
    assert sum(p["count"] for p in stats["failures"]) == 1
    assert len(stats["throughput"]) == 60
    assert [e["id"] for e in stats["recent_errors"]] == [failed.id]
    assert stats["recent_errors"][0]["error"]["type"] == "ValueError"
    api.get("/api/tasks/no.such.task/stats", expect=404)


def test_statistics_totals_series_queues_and_workers(bridge: Bridge, api: Api) -> None:
    """Aggregate statistics: totals, per-minute series, queue depths and workers with their
    current executions."""
    host = socket.gethostname()
    bridge.store.register_worker("w1", {"host": host, "pid": os.getpid(), "engine": "x",
                                        "queues": ["default"], "concurrency": 2,
                                        "pool": "threads", "started_at": time.time()}, ttl=30)
    running = put_record(bridge, status=Status.RUNNING, worker=f"{host}:{os.getpid()}:7")
    put_record(bridge, status=Status.FAILED)
    put_record(bridge, status=Status.SUCCEEDED, at=time.time() - 86400 * 2)
    stats = api.get("/api/statistics", window="30m")
    assert stats["total"] == 3
    assert stats["totals"]["RUNNING"] == 1 and stats["totals"]["FAILED"] == 1
    assert stats["window_counts"]["SUCCEEDED"] == 0 and stats["success_rate"] == 0.0
    assert len(stats["throughput"]) == 30 and sum(p["count"] for p in stats["throughput"]) == 2
    assert sum(p["count"] for p in stats["failures"]) == 1
    assert "default" in stats["queues"]
    [worker] = stats["workers"]
    assert worker["pool"] == "threads" and worker["concurrency"] == 2
    assert [c["id"] for c in worker["current"]] == [running.id]
    assert [r["id"] for r in stats["running"]] == [running.id]


def test_health_answers_200_when_everything_answers(bridge: Bridge, api: Api) -> None:
    """Health is 200 with queue depths, workers and the failed count."""
    put_record(bridge, status=Status.FAILED)
    report = api.get("/api/health")
    assert report["ok"] is True and report["failed"] == 1 and "default" in report["queues"]


def test_health_answers_503_when_the_store_is_down() -> None:
    """Health is 503 when the store cannot be reached, and says which part failed."""
    pytest.importorskip("taskbridge_rq")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = Bridge(f"rq+redis://127.0.0.1:{port}/0?namespace=tbtest-down")
    try:
        report = Api(Handler(down, authorize=allow_everyone)).get("/api/health", expect=503)
    finally:
        down.close()
    assert report["ok"] is False and report["store"].startswith("unreachable")


@pytest.mark.parametrize("path", ["/api/executions", "/api/executions/x", "/api/statistics",
                                  "/api/schedules"])
def test_api_answers_503_not_500_when_the_store_is_down(path: str) -> None:
    """Any API call on an unreachable store is a 503 problem saying what did not answer."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = Bridge(f"memory://?store=redis://127.0.0.1:{port}/0")
    try:
        response = Api(Handler(down, authorize=allow_everyone)).call("GET", path)
    finally:
        down.close()
    assert response.status == 503, response.body[:500]
    assert b"did not answer" in response.body and b"127.0.0.1" in response.body


def test_metrics_expose_executions_queues_durations_and_workers(bridge: Bridge, api: Api) -> None:
    """/metrics is Prometheus text with executions by task and status, depths and durations."""
    pytest.importorskip("prometheus_client")
    put_record(bridge, status=Status.SUCCEEDED, duration=0.2)
    response = api.call("GET", "/metrics")
    assert response.status == 200
    text = response.body.decode()
    assert 'taskbridge_executions{status="SUCCEEDED",task="dash.add"} 1.0' in text
    assert 'taskbridge_execution_duration_seconds_bucket{le="0.25",task="dash.add"} 1.0' in text
    assert 'taskbridge_queue_depth{queue="default"}' in text
    assert "taskbridge_dead_letters 0.0" in text and "taskbridge_workers" in text


def test_percentiles_and_steps() -> None:
    """Nearest-rank percentiles; series steps stay per-minute up to two hours."""
    assert percentile([], 0.5) is None
    assert percentile([5.0, 1.0, 3.0], 0.5) == 3.0
    assert percentile([float(i) for i in range(1, 101)], 0.95) == 95.0
    assert step_for(3600) == 60 and step_for(7200) == 60 and step_for(86400) == 720
