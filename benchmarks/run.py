"""Run the benchmarks: ``python -m benchmarks [--quick] [--backends celery,rq,...]``.

For every selected backend it measures, through taskbridge and through the engine's own API in
the same run: single enqueue, bulk enqueue, idempotency-keyed enqueue, a real worker's drain
throughput and the enqueue→result round trip; for every selected reference (an alternative a
user might pick instead, e.g. Dramatiq) the same through its own API alone; plus raw Redis
LPUSH timings as the physical limit. Writes ``results.json``, ``results.md`` and
``ratios.png`` to ``--out``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import phases, postgresql, probe, references, report
from benchmarks.engines import BACKENDS, BackendSpec, Context, versions
from benchmarks.plot import write_plot
from benchmarks.references import REFERENCES, ReferenceSpec

RESULTS = Path(__file__).resolve().parent / "results"
PHASES = ("enqueue", "drain", "roundtrip", "calls")

QUICK = phases.Sizes(rounds=2, single=20, batch=50, drain_tasks=60, drain_rounds=1,
                     rt_rounds=1, rt_samples=3, timeout=60.0)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default=",".join([*BACKENDS, *REFERENCES]),
                        help=f"comma-separated, from {', '.join(BACKENDS)} and the "
                             f"references {', '.join(REFERENCES)} (default: all)")
    parser.add_argument("--quick", action="store_true",
                        help="a tiny smoke run: a few tasks per measurement, one round")
    parser.add_argument("--phases", default=",".join(PHASES),
                        help=f"comma-separated, from {', '.join(PHASES)} (default: all)")
    parser.add_argument("--out", type=Path, default=None,
                        help="where results go (default: benchmarks/results, or a temporary "
                             "folder with --quick)")
    parser.add_argument("--concurrency", type=int, default=1,
                        help="worker concurrency on both sides (default 1)")
    parser.add_argument("--rq-worker", choices=["fork", "simple"], default="fork",
                        help="RQ worker mode on both sides (default: fork, RQ's default)")
    parser.add_argument("--redis-url", default=None,
                        help="Redis to use; default: a private redis-server started for the run "
                             "(it is flushed between backends, so never point this at shared data)")
    parser.add_argument("--postgresql-url", default=postgresql.DEFAULT_SERVER,
                        help="PostgreSQL server on which the run creates (and finally drops) "
                             "its own tbbench_<random> database for Procrastinate "
                             f"(default {postgresql.DEFAULT_SERVER})")
    args = parser.parse_args(argv)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = [b for b in args.backends if b not in BACKENDS and b not in REFERENCES]
    args.phases = {p.strip() for p in args.phases.split(",") if p.strip()}
    if unknown or not args.phases <= set(PHASES):
        wrong = unknown or sorted(args.phases - set(PHASES))
        parser.error(f"unknown backend(s) or phase(s): {wrong}")
    return args


def other_workers() -> int:
    """``taskbridge worker`` processes already running (other people's load on this machine)."""
    try:
        out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return -1
    return sum(1 for line in out.stdout.splitlines() if "taskbridge worker" in line)


def run_backend(spec: BackendSpec, context: Context, sizes: phases.Sizes,
                selected: set[str], context_note: str = "") -> dict[str, Any]:
    entry: dict[str, Any] = {"title": spec.title, "comparisons": []}
    if not spec.installed():
        entry["skipped"] = f"{spec.plugin} is not installed (pip install -e backends/...)"
        return entry
    if spec.uses_postgresql and context.postgresql_url is None:
        entry["skipped"] = context_note or "no PostgreSQL database"
        return entry
    rows: list[dict[str, Any]] = entry["comparisons"]
    _run_steps(spec.key, context, selected, entry, [
        ("enqueue", lambda: rows.extend(phases.enqueue_phase(spec, context, sizes))),
        ("drain", lambda: rows.append(phases.drain_phase(spec, context, sizes))),
        ("roundtrip", lambda: rows.extend(phases.round_trip_phase(spec, context, sizes))),
        # Round trips are counted on redis-py's socket writes: Redis backends only.
        ("calls", lambda: spec.uses_redis
         and entry.update(calls_per_enqueue=_calls(spec, context))),
    ])
    entry["apis"] = {row["metric"]: [row["taskbridge_api"], row["native_api"]]
                     for row in entry["comparisons"]}
    return entry


def run_reference(spec: ReferenceSpec, context: Context, sizes: phases.Sizes,
                  selected: set[str]) -> dict[str, Any]:
    """A reference's own figures (no taskbridge side), or why it was skipped."""
    entry: dict[str, Any] = {"title": spec.title, "measurements": []}
    missing = spec.missing()
    if missing is not None:
        entry["skipped"] = missing
        return entry
    rows: list[dict[str, Any]] = entry["measurements"]
    _run_steps(spec.key, context, selected, entry, [
        ("enqueue", lambda: rows.extend(references.enqueue_phase(spec, context, sizes))),
        ("drain", lambda: rows.extend(references.drain_phase(spec, context, sizes))),
        ("roundtrip", lambda: rows.extend(references.round_trip_phase(spec, context, sizes))),
        ("calls", lambda: spec.uses_redis
         and entry.update(calls_per_enqueue=references.calls_phase(spec, context))),
    ])
    entry["apis"] = {row["metric"] + (f" ({row['variant']})" if row.get("variant") else ""):
                     row["api"] for row in rows}
    return entry


def _run_steps(key: str, context: Context, selected: set[str], entry: dict[str, Any],
               steps: list[tuple[str, Callable[[], object]]]) -> None:
    """Run the selected steps in order; one that fails is recorded in ``entry`` and the rest
    still run. The private Redis is flushed after each."""
    started = time.monotonic()
    for name, step in steps:
        if name not in selected:
            continue
        print(f"  {key}: {name} ...", flush=True)
        try:
            step()
        except Exception as exc:
            entry.setdefault("errors", []).append(f"{name}: {type(exc).__name__}: {exc}")
            entry["error"] = "; ".join(entry["errors"])
            traceback.print_exc()
        finally:
            _flush(context)
    entry["duration_s"] = time.monotonic() - started


def _calls(spec: BackendSpec, context: Context) -> dict[str, Any]:
    tb, native = spec.open(context, "calls")
    redis_url = context.redis_url
    try:
        return {
            "taskbridge": probe.calls_per_enqueue(tb.enqueue, redis_url),
            "taskbridge (keyed)": probe.calls_per_enqueue(tb.enqueue_keyed, redis_url),
            "native": probe.calls_per_enqueue(native.enqueue, redis_url),
        }
    finally:
        tb.close()
        native.close()


def _flush(context: Context) -> None:
    """Empty the private Redis between phases (no worker is running then)."""
    if context.redis_private:
        from redis import Redis

        with Redis.from_url(context.redis_url) as client:
            client.flushdb()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = QUICK if args.quick else phases.Sizes()
    sizes = phases.Sizes(**{**sizes.__dict__, "concurrency": args.concurrency})
    out = args.out or (Path(tempfile.mkdtemp(prefix="taskbridge-bench-out-")) if args.quick
                       else RESULTS)
    specs = [BACKENDS[key] for key in args.backends if key in BACKENDS]
    reference_specs = [REFERENCES[key] for key in args.backends if key in REFERENCES]
    workdir = Path(tempfile.mkdtemp(prefix="taskbridge-bench-"))
    redis_url, private = _redis(args.redis_url)
    database, database_note = None, ""
    if any(spec.uses_postgresql and spec.installed() for spec in specs):
        database, database_note = postgresql.create_database(args.postgresql_url)
        print(database_note if database else f"skipping PostgreSQL backends: {database_note}",
              flush=True)
    context = Context(redis_url=redis_url, workdir=workdir, redis_private=private,
                      rq_worker=args.rq_worker, postgresql_url=database)
    started = time.monotonic()
    results: dict[str, Any] = {"meta": _meta(args, sizes, specs, reference_specs, redis_url),
                               "backends": {}, "references": {}}
    try:
        print(f"raw Redis at {redis_url} ...", flush=True)
        results["raw_redis"] = probe.raw_redis(
            redis_url, rounds=sizes.rounds, ops=max(sizes.single, 100), pipeline_batch=100)
        for spec in specs:
            print(f"{spec.title}:", flush=True)
            results["backends"][spec.key] = run_backend(spec, context, sizes, args.phases,
                                                        database_note)
        for reference in reference_specs:
            print(f"{reference.title}:", flush=True)
            results["references"][reference.key] = run_reference(reference, context, sizes,
                                                                 args.phases)
    finally:
        if database is not None:
            postgresql.drop_database(database)
        results["meta"]["duration_s"] = time.monotonic() - started
        results["meta"]["load_after"] = list(os.getloadavg())
        failed = any(b.get("error") for group in ("backends", "references")
                     for b in results[group].values())
        if failed:
            print(f"worker logs kept in {workdir / 'logs'}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        if private:
            from taskbridge.testing.redis_server import stop_private_server

            stop_private_server(redis_url)
    results["absolute"] = report.absolute_figures(results)
    report.write_json(results, out / "results.json")
    report.write_markdown(results, out / "results.md")
    plotted = write_plot(results, out / "ratios.png")
    print(report.markdown(results))
    print(f"wrote {out / 'results.json'}, {out / 'results.md'}"
          + (f", {out / 'ratios.png'}" if plotted else " (no plot: matplotlib missing)"))
    return 1 if failed else 0


def _redis(configured: str | None) -> tuple[str, bool]:
    if configured:
        return configured, False
    from taskbridge.testing.redis_server import start_private_server

    return start_private_server(), True


def _meta(args: argparse.Namespace, sizes: phases.Sizes, specs: list[BackendSpec],
          reference_specs: list[ReferenceSpec], redis_url: str) -> dict[str, Any]:
    from redis import Redis

    with Redis.from_url(redis_url) as client:
        server = client.info("server").get("redis_version", "?")
    return {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_before": list(os.getloadavg()),
        "other_workers_before": other_workers(),
        "versions": versions(specs, [name for r in reference_specs for name in r.engines]),
        "redis_server": server,
        "quick": args.quick,
        "rq_worker": args.rq_worker,
        "phases": sorted(args.phases),
        "sizes": sizes.__dict__,
    }


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    raise SystemExit(main())
