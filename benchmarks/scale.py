"""``python -m benchmarks.scale``: what taskbridge costs as the store fills up, and under load.

On a private ``redis-server`` it starts and on SQLite files in a temporary folder:

- **flat cost**: enqueue (``store.create`` and ``task.enqueue``), start and finish
  (``store.start`` / ``store.finish``), median of ``samples`` single calls each, with 0,
  100,000 and ``--records`` records already in the store (filled in batches with
  ``benchmarks.dashboard``'s records), and whether each stays within 10 % of the 0-records
  figure; engines: ``huey+redis`` (the Redis store) and ``huey+sqlite`` (the SQLite store);
- **size per record**: Redis ``INFO memory`` ``used_memory`` delta and SQLite file growth
  (database + WAL after a checkpoint) over ``memory_records`` records of a small task taken
  through their whole life (``enqueue_many``, ``start``, ``finish``);
- **purge** throughput (records/s) on the ``--records`` filled store, ``bridge.purge(0)``;
- **the embedded default under load**: huey+sqlite with 4 producer processes and 2 worker
  processes: throughput, "database is locked" errors, lost tasks;
- **worker RSS** over ``rss_tasks`` no-op tasks on huey+sqlite (start, max, end);
- **start-up**: ``taskbridge --help`` and a worker ready to run its first task, in ms.

Writes ``scale.md``, ``scale.json`` and (with matplotlib) ``scaling.png`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.dashboard import BATCH, fill
from benchmarks.plot import write_scale_plot
from taskbridge import Bridge, Record, RecordFilter, Status
from taskbridge.testing.redis_server import start_private_server, stop_private_server
from taskbridge.testing.workers import Workers

REPO = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results"
#: The benchmark task the workers import (``bench.noop``: returns its argument).
TASKS_MODULE = "benchmarks.workload"
TOLERANCE = 0.10
#: Rounds each fill level's samples are split into, alternating filled and empty store.
ROUNDS = 6
STORES = ("redis", "sqlite")
OPERATIONS = ("create", "enqueue", "start", "finish")

FULL: dict[str, Any] = {
    "samples": 1000, "memory_records": 100_000, "producers": 4, "per_producer": 5000,
    "workers": 2, "rss_tasks": 100_000, "help_runs": 5, "ready_runs": 3, "drain_timeout": 600.0}
QUICK: dict[str, Any] = {
    "samples": 50, "memory_records": 500, "producers": 4, "per_producer": 50,
    "workers": 2, "rss_tasks": 300, "help_runs": 2, "ready_runs": 1, "drain_timeout": 60.0}


def _noop_task() -> Any:
    from benchmarks.workload import noop

    return noop


def _ms(seconds: float) -> float:
    return seconds * 1000.0


# -- flat cost -----------------------------------------------------------------------------------


def _timed_each(calls: list[Callable[[], object]]) -> list[float]:
    times = []
    for call in calls:
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return times


def _summary_us(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {"median_us": statistics.median(ordered) * 1e6,
            "p95_us": ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1e6, "n": len(ordered)}


def _warm_up(bridge: Bridge) -> None:
    """One of each operation, so scripts are loaded and statements prepared."""
    store, ttl, now = bridge.store, bridge.settings.idempotency_ttl, time.time()
    warm = Record(id=uuid.uuid4().hex, task_name="bench.noop", queue="default",
                  status=Status.PENDING, enqueued_at=now)
    store.create([warm], now=now, idempotency_ttl=ttl)
    store.start(warm.id, 1, worker="bench-scale:1", now=now)
    store.finish(warm.id, 1, Status.SUCCEEDED, now=now, idempotency_ttl=ttl, value=0)
    _noop_task().using(bridge=bridge).enqueue(0)


def _one_round(
    bridge: Bridge, samples: int
) -> dict[str, tuple[list[float], float | None]]:
    """``samples`` single creates, enqueues, starts and finishes: each call's seconds, and
    on Redis the server's µs per script call."""
    store, ttl = bridge.store, bridge.settings.idempotency_ttl
    noop = _noop_task().using(bridge=bridge)
    now = time.time()
    records = [Record(id=uuid.uuid4().hex, task_name="bench.noop", queue="default",
                      status=Status.PENDING, args=(i,), enqueued_at=now) for i in range(samples)]

    def create(record: Record) -> Callable[[], object]:
        return lambda: store.create([record], now=time.time(), idempotency_ttl=ttl)

    def start(record: Record) -> Callable[[], object]:
        return lambda: store.start(record.id, 1, worker="bench-scale:1", now=time.time())

    def finish(record: Record) -> Callable[[], object]:
        return lambda: store.finish(record.id, 1, Status.SUCCEEDED, now=time.time(),
                                    idempotency_ttl=ttl, value=record.args[0])

    def enqueue(i: int) -> Callable[[], object]:
        return lambda: noop.enqueue(i)

    return {
        "create": _server_side(bridge, lambda: _timed_each([create(r) for r in records])),
        "enqueue": _server_side(bridge, lambda: _timed_each([enqueue(i) for i in range(samples)])),
        "start": _server_side(bridge, lambda: _timed_each([start(r) for r in records])),
        "finish": _server_side(bridge, lambda: _timed_each([finish(r) for r in records])),
    }


def _server_side(
    bridge: Bridge, run: Callable[[], list[float]]
) -> tuple[list[float], float | None]:
    """``run``'s call times, and on Redis the server's µs per script call meanwhile (``INFO
    commandstats``, ``evalsha``): a figure the client's load does not move."""
    client = getattr(bridge.store, "client", None)
    if client is None:
        return run(), None
    client.config_resetstat()
    taken = run()
    evalsha = client.info("commandstats").get("cmdstat_evalsha") or {}
    usec = evalsha.get("usec_per_call")
    return taken, float(usec) if usec is not None else None


def measure_operations(
    bridges: dict[str, Bridge], samples: int, rounds: int = ROUNDS
) -> dict[str, dict[str, dict[str, float]]]:
    """Median and p95 (µs) of ``samples`` single calls of each operation on each bridge, in
    ``rounds`` rounds interleaved between the bridges (A B, then B A, ...), so both see the
    same machine load."""
    times: dict[str, dict[str, list[float]]] = {
        label: {op: [] for op in OPERATIONS} for label in bridges}
    server: dict[str, dict[str, list[float]]] = {
        label: {op: [] for op in OPERATIONS} for label in bridges}
    for bridge in bridges.values():
        _warm_up(bridge)
    labels = list(bridges)
    for turn in range(rounds):
        for label in labels if turn % 2 == 0 else labels[::-1]:
            measured = _one_round(bridges[label], max(1, samples // rounds))
            for op, (taken, usec) in measured.items():
                times[label][op] += taken
                if usec is not None:
                    server[label][op].append(usec)
    out = {label: {op: _summary_us(taken) for op, taken in ops.items()}
           for label, ops in times.items()}
    for label, ops in server.items():
        for op, usecs in ops.items():
            if usecs:
                out[label][op]["server_us"] = statistics.mean(usecs)
    return out


def purge_throughput(bridge: Bridge) -> dict[str, float]:
    """Purge every final record (``older_than=0``); how many, how long, records/s."""
    began = time.perf_counter()
    purged = bridge.purge(older_than=0)
    elapsed = time.perf_counter() - began
    return {"purged": purged, "seconds": elapsed, "per_second": purged / elapsed}


def scale_store(kind: str, url: str, reference_url: str, levels: list[int],
                samples: int) -> dict[str, Any]:
    """Measure the operations at each fill level (filling up between levels), interleaved
    with the same operations on a store kept empty (``reference_url``); then purge."""
    bridge, reference = Bridge(url), Bridge(reference_url)
    try:
        out: dict[str, Any] = {"url": url.split("?")[0], "levels": {}, "empty": {},
                               "fill_seconds": {}}
        filled = 0
        for level in levels:
            if level > filled:
                print(f"{kind}: filling to {level:,} records ...", flush=True)
                out["fill_seconds"][str(level)] = fill(bridge, level - filled, seed=level)
                filled = level
            print(f"{kind}: measuring at {level:,} records (and on an empty store)", flush=True)
            measured = measure_operations({"filled": bridge, "empty": reference}, samples)
            out["levels"][str(level)], out["empty"][str(level)] = (
                measured["filled"], measured["empty"])
            for op, figures in measured["filled"].items():
                print(f"  {op}: {figures['median_us']:.0f} µs median "
                      f"(empty store {measured['empty'][op]['median_us']:.0f})", flush=True)
        base = out["levels"][str(levels[0])]
        out["flat"] = {}
        for level in levels:
            now_filled, now_empty = out["levels"][str(level)], out["empty"][str(level)]
            out["flat"][str(level)] = {op: {
                "ratio": now_filled[op]["median_us"] / base[op]["median_us"],
                "vs_empty": now_filled[op]["median_us"] / now_empty[op]["median_us"],
            } for op in OPERATIONS}
            for figures in out["flat"][str(level)].values():
                figures["within"] = figures["vs_empty"] <= 1 + TOLERANCE
        print(f"{kind}: purging ...", flush=True)
        out["purge"] = purge_throughput(bridge)
        print(f"{kind}: purged {out['purge']['purged']:,} in {out['purge']['seconds']:.1f} s",
              flush=True)
        return out
    finally:
        bridge.close()
        reference.close()


# -- size per record -----------------------------------------------------------------------------


def _lifecycle(bridge: Bridge, records: int) -> None:
    """``records`` small tasks enqueued (in batches), started and finished, as a worker would."""
    store, ttl = bridge.store, bridge.settings.idempotency_ttl
    noop = _noop_task().using(bridge=bridge)
    for begin in range(0, records, BATCH):
        results = noop.enqueue_many([(i,) for i in range(begin, min(records, begin + BATCH))])
        for result in results:
            store.start(result.id, 1, worker="bench-host:1234:abcdef", now=time.time())
            store.finish(result.id, 1, Status.SUCCEEDED, now=time.time(), idempotency_ttl=ttl,
                         value=result.args[0])


def redis_bytes_per_record(records: int) -> dict[str, float]:
    """``used_memory`` delta per finished record on a fresh private Redis."""
    redis_url = start_private_server()
    try:
        bridge = Bridge(f"memory://?store={redis_url}")
        try:
            client = bridge.store.client  # type: ignore[attr-defined]
            bridge.store.ping()
            before = int(client.info("memory")["used_memory"])
            _lifecycle(bridge, records)
            after = int(client.info("memory")["used_memory"])
            keys = int(client.dbsize())
        finally:
            bridge.close()
    finally:
        stop_private_server(redis_url)
    return {"records": records, "bytes_before": before, "bytes_after": after,
            "per_record": (after - before) / records, "keys": keys}


def _file_size(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def sqlite_bytes_per_record(workdir: Path, records: int) -> dict[str, float]:
    """File growth (database + WAL after a checkpoint) per finished record."""
    path = workdir / "size.db"
    bridge = Bridge(f"memory://?store=sqlite:///{path}")
    try:
        bridge.store.ping()
        before = _file_size(path)
        _lifecycle(bridge, records)
        after = _file_size(path)
    finally:
        bridge.close()
    return {"records": records, "bytes_before": before, "bytes_after": after,
            "per_record": (after - before) / records}


# -- the embedded default under load -------------------------------------------------------------


def _produce(url: str, first: int, count: int) -> dict[str, Any]:
    """One producer process: ``count`` single enqueues; errors counted, never raised."""
    bridge = Bridge(url)
    noop = _noop_task().using(bridge=bridge)
    errors: list[str] = []
    began = time.perf_counter()
    for i in range(first, first + count):
        try:
            noop.enqueue(i)
        except Exception as exc:  # counted: the benchmark reports them
            errors.append(f"{type(exc).__name__}: {exc}")
    elapsed = time.perf_counter() - began
    bridge.close()
    return {"ok": count - len(errors), "errors": errors, "seconds": elapsed}


def _count(bridge: Bridge, status: Status | None = None) -> int:
    return bridge.store.count(RecordFilter(status=status))


def _drain(bridge: Bridge, expected: int, timeout: float) -> float:
    """Wait until ``expected`` records SUCCEEDED, or no progress for 30 s / ``timeout``."""
    began = last_change = time.monotonic()
    done = -1
    while time.monotonic() - began < timeout and time.monotonic() - last_change < 30:
        now_done = _count(bridge, Status.SUCCEEDED)
        if now_done >= expected:
            break
        if now_done != done:
            done, last_change = now_done, time.monotonic()
        time.sleep(0.2)
    return time.monotonic()


def contention(workdir: Path, sizes: dict[str, Any]) -> dict[str, Any]:
    """huey+sqlite: producers and workers on one file at once."""
    url = f"huey+sqlite:///{workdir / 'contention.db'}"
    producers, per = sizes["producers"], sizes["per_producer"]
    bridge = Bridge(url)
    bridge.store.ping()
    with Workers(workdir, url=url, imports=[TASKS_MODULE], pythonpath=[REPO], cwd=REPO) as pool:
        workers = [pool.start(bridge=bridge) for _ in range(sizes["workers"])]
        context = multiprocessing.get_context("spawn")
        began = time.monotonic()
        with context.Pool(producers) as processes:
            outcomes = processes.starmap(_produce, [(url, n * per, per) for n in range(producers)])
        enqueued_by = time.monotonic()
        ok = sum(o["ok"] for o in outcomes)
        finished_by = _drain(bridge, ok, sizes["drain_timeout"])
        logs = "".join(w.output() for w in workers)
    succeeded = _count(bridge, Status.SUCCEEDED)
    stored = _count(bridge)
    bridge.close()
    producer_errors = [e for o in outcomes for e in o["errors"]]
    return {
        "producers": producers, "per_producer": per, "workers": sizes["workers"],
        "enqueued": ok, "stored": stored, "succeeded": succeeded,
        "lost": ok - succeeded,
        "producer_errors": len(producer_errors),
        "producer_errors_sample": producer_errors[:3],
        "locked_in_producers": sum("database is locked" in e for e in producer_errors),
        "locked_in_workers": logs.count("database is locked"),
        "enqueue_seconds": enqueued_by - began,
        # Inside the producers (their start-up left out): all enqueues over the slowest one.
        "enqueue_per_second": ok / max(o["seconds"] for o in outcomes),
        "total_seconds": finished_by - began,
        "throughput_per_second": succeeded / (finished_by - began),
    }


# -- worker RSS ------------------------------------------------------------------------------


def _rss_kb(group: int) -> int:
    """VmRSS (kB) summed over the processes of process group ``group``."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.getpgid(int(entry)) != group:
                continue
            for line in Path(f"/proc/{entry}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (OSError, ValueError):
            continue
    return total


def worker_rss(workdir: Path, tasks: int, timeout: float) -> dict[str, Any]:
    """One huey+sqlite worker drains ``tasks`` no-op tasks; its RSS sampled every ~2 s."""
    url = f"huey+sqlite:///{workdir / 'rss.db'}"
    bridge = Bridge(url)
    noop = _noop_task().using(bridge=bridge)
    samples: list[tuple[float, int]] = []
    with Workers(workdir, url=url, imports=[TASKS_MODULE], pythonpath=[REPO], cwd=REPO) as pool:
        worker = pool.start(bridge=bridge)
        began = time.monotonic()
        samples.append((0.0, _rss_kb(worker.pid)))
        sent, last_sample = 0, began
        while sent < tasks:  # enqueue in batches while the worker drains
            noop.enqueue_many([(i,) for i in range(sent, min(tasks, sent + BATCH))])
            sent = min(tasks, sent + BATCH)
            if time.monotonic() - last_sample >= 2:
                samples.append((time.monotonic() - began, _rss_kb(worker.pid)))
                last_sample = time.monotonic()
        deadline = began + timeout
        while _count(bridge, Status.SUCCEEDED) < tasks and time.monotonic() < deadline:
            if worker.poll() is not None:
                raise RuntimeError(f"the worker exited: {worker.output(tail=3000)}")
            samples.append((time.monotonic() - began, _rss_kb(worker.pid)))
            time.sleep(2)
        elapsed = time.monotonic() - began
        samples.append((elapsed, _rss_kb(worker.pid)))
    succeeded = _count(bridge, Status.SUCCEEDED)
    bridge.close()
    rss = [kb for _, kb in samples]
    return {"tasks": tasks, "succeeded": succeeded, "seconds": elapsed,
            "start_kb": rss[0], "max_kb": max(rss), "end_kb": rss[-1],
            "growth_kb": rss[-1] - rss[0], "samples": samples}


# -- start-up ------------------------------------------------------------------------------------


def _taskbridge_command() -> list[str]:
    script = Path(sys.executable).parent / "taskbridge"
    return [str(script)] if script.exists() else [sys.executable, "-m", "taskbridge"]


def help_time(runs: int) -> dict[str, Any]:
    """Wall time of ``taskbridge --help`` (median of ``runs`` subprocesses), ms."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run([*_taskbridge_command(), "--help"], check=True, capture_output=True,
                       cwd=REPO)
        times.append(_ms(time.perf_counter() - began))
    return {"median_ms": statistics.median(times), "runs": runs, "all_ms": times}


def worker_ready_time(workdir: Path, runs: int) -> dict[str, Any]:
    """From spawning ``taskbridge worker`` (huey+sqlite) to the SUCCEEDED of a task enqueued
    just before, ms (median of ``runs``, each on a fresh file)."""
    times = []
    for run in range(runs):
        url = f"huey+sqlite:///{workdir / f'ready-{run}.db'}"
        bridge = Bridge(url)
        result = _noop_task().using(bridge=bridge).enqueue(1)
        with Workers(workdir, url=url, imports=[TASKS_MODULE], pythonpath=[REPO],
                     cwd=REPO) as pool:
            began = time.perf_counter()
            worker = pool.start_command("worker")
            deadline = time.monotonic() + 60
            while result.refresh().status is not Status.SUCCEEDED:
                if worker.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"no first task run: {worker.output(tail=3000)}")
                time.sleep(0.005)
            times.append(_ms(time.perf_counter() - began))
        bridge.close()
    return {"median_ms": statistics.median(times), "runs": runs, "all_ms": times}


# -- report --------------------------------------------------------------------------------------


def _versions() -> dict[str, str]:
    from importlib import metadata

    found = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for name in ("taskbridge", "taskbridge-huey", "huey", "redis"):
        with suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


def report(results: dict[str, Any]) -> str:
    meta = results["meta"]
    levels = meta["levels"]
    lines = [
        f"Run {meta['date']} on {meta['cpu_count']} CPUs (load {meta['load_before']} before, "
        f"{meta['load_after']} after), " + ", ".join(f"{k} {v}" for k, v in
                                                     meta["versions"].items())
        + f": `python -m benchmarks.scale{' --quick' if meta['quick'] else ''}`.", "",
        f"## Cost per operation against records already in the store "
        f"(median of {meta['sizes']['samples']} single calls, µs)", "",
        "`create`, `start`, `finish`: `bridge.store` on huey+redis / huey+sqlite; `enqueue`: "
        "`task.enqueue` (record and Huey message). Each cell: the filled store's median / an "
        f"empty store's, measured in {meta['rounds']} interleaved rounds (so both see the same "
        "load), their ratio (✅ within 10 %), and the ratio to the filled store's own "
        "0-records median (taken minutes earlier, under whatever load the machine had then).",
        "",
        "| store | operation | " + " | ".join(f"{n:,} records" for n in levels) + " |",
        "| --- | --- |" + " --- |" * len(levels),
    ]
    for kind in STORES:
        data = results["stores"].get(kind)
        if not data:
            continue
        for op in OPERATIONS:
            cells = []
            for level in levels:
                median = data["levels"][str(level)][op]["median_us"]
                empty = data["empty"][str(level)][op]["median_us"]
                flat = data["flat"][str(level)][op]
                cell = f"{median:,.0f} / {empty:,.0f} ({flat['vs_empty']:.2f}"
                if level:
                    cell += f" {'✅' if flat['within'] else '❌'}; {flat['ratio']:.2f} vs 0"
                cells.append(cell + ")")
            lines.append(f"| {kind} | {op} | " + " | ".join(cells) + " |")
    redis_data = results["stores"].get("redis")
    if redis_data and "server_us" in redis_data["levels"][str(levels[0])]["create"]:
        lines += ["", "Redis server time per script call (µs, `INFO commandstats` evalsha, mean "
                  "over the rounds; `enqueue`'s script also writes the Huey message): filled "
                  "store / empty store (each on its own server)", "",
                  "| operation | " + " | ".join(f"{n:,} records" for n in levels) + " |",
                  "| --- |" + " --- |" * len(levels)]
        for op in OPERATIONS:
            cells = [f"{redis_data['levels'][str(n)][op]['server_us']:.1f} / "
                     f"{redis_data['empty'][str(n)][op]['server_us']:.1f}" for n in levels]
            lines.append(f"| {op} | " + " | ".join(cells) + " |")
    lines += ["", "## Size per finished record, purge", "",
              "| store | bytes per record | over | purge (records/s) | purged | fill time |",
              "| --- | --- | --- | --- | --- | --- |"]
    sizes = results["sizes_per_record"]
    for kind in STORES:
        data = results["stores"].get(kind)
        size = sizes.get(kind)
        if not data or not size:
            continue
        what = "`INFO memory` used_memory" if kind == "redis" else "file + WAL, checkpointed"
        purge = data["purge"]
        fills = ", ".join(f"{int(k):,}: {v:.0f} s" for k, v in data["fill_seconds"].items())
        lines.append(f"| {kind} | {size['per_record']:,.0f} ({what}) | {size['records']:,} "
                     f"records | {purge['per_second']:,.0f} | {purge['purged']:,} in "
                     f"{purge['seconds']:.1f} s | {fills} |")
    load = results["contention"]
    lines += ["", f"## The embedded default under load (huey+sqlite, {load['producers']} "
              f"producer processes, {load['per_producer']:,} enqueues each, {load['workers']} "
              "worker processes)", "",
              "| enqueued | succeeded | lost | throughput (tasks/s, enqueue to last success) "
              "| producers' enqueues/s | producer errors | 'database is locked' (producers / "
              "worker logs) |", "| --- | --- | --- | --- | --- | --- | --- |",
              f"| {load['enqueued']:,} | {load['succeeded']:,} | {load['lost']:,} | "
              f"{load['throughput_per_second']:,.0f} | {load['enqueue_per_second']:,.0f} | "
              f"{load['producer_errors']} | {load['locked_in_producers']} / "
              f"{load['locked_in_workers']} |"]
    rss = results["rss"]
    mb = 1024
    lines += ["", f"## Worker RSS over {rss['tasks']:,} no-op tasks (huey+sqlite, one worker, "
              "VmRSS of its process group)", "",
              "| start | max | end | growth | succeeded | seconds |",
              "| --- | --- | --- | --- | --- | --- |",
              f"| {rss['start_kb'] / mb:.1f} MB | {rss['max_kb'] / mb:.1f} MB | "
              f"{rss['end_kb'] / mb:.1f} MB | {rss['growth_kb'] / mb:+.1f} MB | "
              f"{rss['succeeded']:,} | {rss['seconds']:.0f} |"]
    start = results["startup"]
    lines += ["", "## Start-up (ms)", "",
              "| `taskbridge --help` (median of "
              f"{start['help']['runs']}) | worker spawned → first task SUCCEEDED (huey+sqlite, "
              f"median of {start['worker_ready']['runs']}) |", "| --- | --- |",
              f"| {start['help']['median_ms']:.0f} | {start['worker_ready']['median_ms']:.0f} |"]
    return "\n".join(lines) + "\n"


# -- command -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000,
                        help="records in the fullest store (default 1,000,000)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--rss-tasks", type=int, default=None,
                        help="no-op tasks for the worker RSS phase (default 100,000; quick 300)")
    parser.add_argument("--stores", default=",".join(STORES))
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for scale.md and scale.json (default benchmarks/results; "
                             "a temporary folder with --quick)")
    args = parser.parse_args(argv)
    if args.records < 1:
        parser.error(f"--records must be 1 or more, got {args.records}")
    if args.rss_tasks is not None and args.rss_tasks < 1:
        parser.error(f"--rss-tasks must be 1 or more, got {args.rss_tasks}")
    args.stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    unknown = set(args.stores) - set(STORES)
    if unknown or not args.stores:
        parser.error(f"--stores: unknown {sorted(unknown)}; choose from {', '.join(STORES)}")
    return args


@contextmanager
def _store_urls(kind: str, workdir: Path) -> Iterator[tuple[str, str]]:
    if kind == "sqlite":
        yield (f"huey+sqlite:///{workdir / 'scale.db'}",
               f"huey+sqlite:///{workdir / 'scale-empty.db'}")
        return
    # Two servers alike, so each one's INFO commandstats are its store's alone.
    redis_url, reference_url = start_private_server(), start_private_server()
    try:
        yield "huey+" + redis_url, "huey+" + reference_url
    finally:
        stop_private_server(redis_url)
        stop_private_server(reference_url)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="taskbridge-scale-bench-"))
    try:
        return run(args, workdir)
    finally:  # the SQLite files of a full run take gigabytes
        shutil.rmtree(workdir, ignore_errors=True)


def run(args: argparse.Namespace, workdir: Path) -> int:
    sizes = dict(QUICK if args.quick else FULL)
    records = min(args.records, 1000) if args.quick else args.records
    if args.rss_tasks is not None:
        sizes["rss_tasks"] = args.rss_tasks
    levels = sorted({0, min(100_000, records // 10 if args.quick else 100_000), records})
    out = args.out or (Path(tempfile.mkdtemp(prefix="taskbridge-scale-")) if args.quick
                       else RESULTS)
    meta = {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "quick": args.quick, "cpu_count": os.cpu_count(), "levels": levels, "rounds": ROUNDS,
            "sizes": sizes, "versions": _versions(),
            "load_before": " ".join(f"{x:.1f}" for x in os.getloadavg())}
    results: dict[str, Any] = {"meta": meta, "stores": {}, "sizes_per_record": {}}
    print(f"levels {levels}, sizes {sizes}, work in {workdir}", flush=True)
    for kind in args.stores:
        with _store_urls(kind, workdir) as (url, reference_url):
            results["stores"][kind] = scale_store(kind, url, reference_url, levels,
                                                  sizes["samples"])
    print("size per record ...", flush=True)
    if "redis" in args.stores:
        results["sizes_per_record"]["redis"] = redis_bytes_per_record(sizes["memory_records"])
    if "sqlite" in args.stores:
        results["sizes_per_record"]["sqlite"] = sqlite_bytes_per_record(
            workdir, sizes["memory_records"])
    print(f"  {results['sizes_per_record']}", flush=True)
    print("huey+sqlite under 4 producers and 2 workers ...", flush=True)
    results["contention"] = contention(workdir, sizes)
    print(f"  {results['contention']}", flush=True)
    print(f"worker RSS over {sizes['rss_tasks']:,} tasks ...", flush=True)
    results["rss"] = worker_rss(workdir, sizes["rss_tasks"], sizes["drain_timeout"])
    print("start-up ...", flush=True)
    results["startup"] = {"help": help_time(sizes["help_runs"]),
                          "worker_ready": worker_ready_time(workdir, sizes["ready_runs"])}
    meta["load_after"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    try:
        import redis

        server = start_private_server()
        try:
            meta["versions"]["redis-server"] = str(
                redis.Redis.from_url(server).info("server")["redis_version"])
        finally:
            stop_private_server(server)
    except Exception as exc:  # a version line is not worth failing the run for
        print(f"  redis-server version unknown: {exc}", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / "scale.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    text = report(results)
    (out / "scale.md").write_text(text)
    plotted = write_scale_plot(results, out / "scaling.png")
    print(text)
    print(f"wrote {out / 'scale.md'}, {out / 'scale.json'}"
          + (f", {out / 'scaling.png'}" if plotted else " (no plot: matplotlib missing)"))
    return 0


if __name__ == "__main__":
    random.seed(0)
    sys.exit(main())
