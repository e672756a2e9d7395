"""``python -m benchmarks.dashboard``: the dashboard's answers with a million records.

Fills a Redis store (a private ``redis-server``) and a SQLite store with ``--records``
executions (default 1,000,000) spread over the last week — mostly SUCCEEDED, some FAILED,
RETRYING, CANCELED, RUNNING and PENDING, over a dozen tasks and three queues — then times the
requests an ops person's first minute makes, through the dashboard's own request handler
(no HTTP server, so the figures are the store's and the operations layer's):

- the executions page's first page, all and FAILED only, and a page of one task;
- the aggregate statistics (the dashboard page: totals, per-minute series, queues, workers);
- the task list with its counts, and one task's statistics.

Prints a table (median and p95 of ``--samples`` requests each) and writes ``dashboard.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from taskbridge import Bridge, Record, Status, task
from taskbridge._dashboard.http import Handler
from taskbridge._dashboard.messages import Request
from taskbridge._dashboard.security import allow_everyone
from taskbridge._record import ErrorInfo
from taskbridge.testing.redis_server import start_private_server, stop_private_server

RESULTS = Path(__file__).parent / "results"
TASKS = [f"reports.task_{n}" for n in range(12)]
QUEUES = ["default", "emails", "reports"]
WEEK = 7 * 24 * 3600.0


def _noop() -> None:
    """The benchmark's tasks never run; they are registered so the task list shows them."""


for _name in TASKS:
    task(name=_name)(_noop)
#: Status mix of the filled records (weights).
MIX = {Status.SUCCEEDED: 900, Status.FAILED: 60, Status.CANCELED: 10, Status.RETRYING: 10,
       Status.PENDING: 15, Status.RUNNING: 5}
BATCH = 2000

REQUESTS: dict[str, tuple[str, dict[str, str]]] = {
    "executions, first page": ("/api/executions", {}),
    "executions, FAILED": ("/api/executions", {"status": "FAILED"}),
    "executions of one task": ("/api/executions", {"task": TASKS[3]}),
    "statistics (1 h)": ("/api/statistics", {}),
    "statistics (24 h)": ("/api/statistics", {"window": "24h"}),
    "tasks with counts": ("/api/tasks", {}),
    "one task's statistics": (f"/api/tasks/{TASKS[3]}/stats", {}),
}


def make_record(rng: random.Random, now: float) -> Record:
    status = rng.choices(list(MIX), weights=list(MIX.values()))[0]
    enqueued = now - rng.random() * WEEK
    started = enqueued + rng.random() * 2
    finished = started + rng.expovariate(2.0)
    ran = status not in (Status.PENDING,)
    ended = status in (Status.SUCCEEDED, Status.FAILED, Status.CANCELED)
    error = (ErrorInfo("ValueError", "bad input", "Traceback ...\nValueError: bad input")
             if status in (Status.FAILED, Status.RETRYING) else None)
    return Record(
        id=uuid.UUID(int=rng.getrandbits(128)).hex, task_name=rng.choice(TASKS),
        queue=rng.choice(QUEUES), status=status, args=(rng.randrange(1000),),
        attempts=1 if ran else 0, max_attempts=3, enqueued_at=enqueued,
        started_at=started if ran else None, finished_at=finished if ended else None,
        heartbeat_at=started if status is Status.RUNNING else None,
        value=42 if status is Status.SUCCEEDED else None, error=error,
        run_at=finished + 10 if status is Status.RETRYING else None,
        worker="bench-host:1:abc" if ran else None,
    )


def fill(bridge: Bridge, records: int, seed: int = 0) -> float:
    """Write ``records`` executions in batches; returns the seconds it took."""
    rng, now, began = random.Random(seed), time.time(), time.monotonic()
    store = bridge.store
    for start in range(0, records, BATCH):
        batch = [make_record(rng, now) for _ in range(min(BATCH, records - start))]
        store.create(batch, now=now, idempotency_ttl=60.0)
        if start and start % 100_000 == 0:
            print(f"  {start:,} records after {time.monotonic() - began:.0f} s", flush=True)
    return time.monotonic() - began


def timed(call: Callable[[], object], samples: int) -> tuple[float, float]:
    """Median and p95 of ``samples`` calls, in milliseconds (one warm-up call first)."""
    call()
    times = []
    for _ in range(samples):
        began = time.perf_counter()
        call()
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def measure(bridge: Bridge, samples: int) -> dict[str, tuple[float, float]]:
    handler = Handler(bridge, authorize=allow_everyone)

    def request(path: str, query: dict[str, str]) -> Callable[[], object]:
        def call() -> object:
            response = handler(Request("GET", path, {k: [v] for k, v in query.items()},
                                       {"host": "bench.test"}, b"", "/", "http://bench.test"))
            if response.status != 200:
                raise RuntimeError(f"{path} answered {response.status}: {response.body[:300]!r}")
            return json.loads(response.body)

        return call

    timings: dict[str, tuple[float, float]] = {}
    for name, (path, query) in REQUESTS.items():
        try:
            timings[name] = timed(request(path, query), samples)
        except Exception as exc:  # reported in the table, the other requests still measured
            print(f"  {name}: {exc}", flush=True)
            timings[name] = (math.nan, math.nan)
        print(f"  {name}: {timings[name][0]:.1f} ms median", flush=True)
    return timings


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dashboard", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--stores", default="redis,sqlite")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    args.stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    if not set(args.stores) <= {"redis", "sqlite"}:
        parser.error("--stores: choose from redis, sqlite")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results: dict[str, dict[str, tuple[float, float]]] = {}
    fills: dict[str, float] = {}
    workdir = Path(tempfile.mkdtemp(prefix="taskbridge-dashboard-bench-"))
    for kind in args.stores:
        redis_url = start_private_server() if kind == "redis" else None
        try:
            store = redis_url if redis_url else f"sqlite:///{workdir / 'dash.db'}"
            bridge = Bridge(f"memory://?store={store}")
            print(f"{kind}: filling {args.records:,} records ...", flush=True)
            fills[kind] = fill(bridge, args.records)
            print(f"{kind}: filled in {fills[kind]:.0f} s; measuring", flush=True)
            results[kind] = measure(bridge, args.samples)
            bridge.close()
        finally:
            if redis_url:
                stop_private_server(redis_url)
    lines = [f"Dashboard requests with {args.records:,} records in the store "
             f"(median / p95 of {args.samples}, ms)", "",
             "| request | " + " | ".join(args.stores) + " |",
             "| --- |" + " --- |" * len(args.stores)]
    for name in REQUESTS:
        cells = [f"{results[k][name][0]:.1f} / {results[k][name][1]:.1f}" for k in args.stores]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Filled in: " + ", ".join(f"{k} {s:.0f} s" for k, s in fills.items())]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "dashboard.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
