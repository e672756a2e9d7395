"""The measurements for one backend: enqueue paths, drain throughput and round-trip latency.

Each returns comparisons (taskbridge vs native, same run, interleaved) as plain dicts that the
report turns into tables, JSON and the ratio plot.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.engines import BackendSpec, Context
from benchmarks.measure import interleave, per_task_micros, percentile, ratio, summarize
from benchmarks.sides import Side, chunks
from benchmarks.workers import WorkerProcess, drain, python_env

PREFILL_CHUNK = 500


@dataclass(frozen=True)
class Sizes:
    """How much work each measurement does; ``--quick`` shrinks all of it."""

    rounds: int = 7
    single: int = 300
    batch: int = 1000
    drain_tasks: int = 2000
    drain_rounds: int = 3
    rt_rounds: int = 5
    rt_samples: int = 20
    concurrency: int = 1
    timeout: float = 120.0


def comparison(metric: str, label: str, unit: str, tb: list[float], native: list[float], *,
               higher_is_better: bool = False, target: float | None = None,
               strict: bool = False, apis: tuple[str, str] = ("", ""),
               **extra: Any) -> dict[str, Any]:
    """One row: both sides' summaries and the ratio taskbridge ÷ native of their medians."""
    tb_summary, native_summary = summarize(tb), summarize(native)
    value = ratio(tb_summary["median"], native_summary["median"])
    met = None
    if target is not None and value is not None:
        if higher_is_better:
            met = value > target if strict else value >= target
        else:
            met = value < target if strict else value <= target
    return {
        "metric": metric, "label": label, "unit": unit,
        "taskbridge": tb_summary, "native": native_summary,
        "ratio": value, "higher_is_better": higher_is_better,
        "target": target, "strict": strict, "target_met": met,
        "taskbridge_api": apis[0], "native_api": apis[1],
        "samples": {"taskbridge": tb, "native": native}, **extra,
    }


def fresh_ranges() -> Callable[[int], range]:
    """Hands out fresh argument ranges so no two enqueues share an argument (or key)."""
    counter = itertools.count()

    def take(n: int) -> range:
        start = next(counter) * 10_000_000
        return range(start, start + n)

    return take


def one_by_one(take: Callable[[int], range], send: Callable[[int], None]) -> Callable[[int], None]:
    """Work that enqueues ``n`` fresh arguments with one ``send`` call each."""
    def work(n: int) -> None:
        for i in take(n):
            send(i)
    return work


def in_bulk(take: Callable[[int], range], side: Side) -> Callable[[int], None]:
    """Work that enqueues ``n`` fresh arguments with one bulk call."""
    def work(n: int) -> None:
        side.enqueue_bulk(take(n).start, n)
    return work


def enqueue_phase(spec: BackendSpec, context: Context, sizes: Sizes) -> list[dict[str, Any]]:
    """Single, bulk and idempotency-keyed enqueues, five ways interleaved in every round."""
    tb, native = spec.open(context, "enqueue")
    take = fresh_ranges()
    samplers = {
        "tb_single": per_task_micros(one_by_one(take, tb.enqueue), sizes.single),
        "native_single": per_task_micros(one_by_one(take, native.enqueue), sizes.single),
        "tb_many": per_task_micros(in_bulk(take, tb), sizes.batch),
        "native_bulk": per_task_micros(in_bulk(take, native), sizes.batch),
        "tb_keyed": per_task_micros(one_by_one(take, tb.enqueue_keyed), sizes.single),
    }
    lean = getattr(native, "enqueue_lean", None)
    if lean is not None:
        samplers["native_lean"] = per_task_micros(one_by_one(take, lean), sizes.single)
    try:
        # Warm-up: connections, script loading, imports; not recorded.
        for send in (tb.enqueue, native.enqueue, tb.enqueue_keyed, *filter(None, [lean])):
            one_by_one(take, send)(20)
        in_bulk(take, tb)(50)
        in_bulk(take, native)(50)
        s = interleave(sizes.rounds, samplers)
    finally:
        tb.close()
        native.close()
    native_single_tps = [1e6 / v for v in s["native_single"]]
    tb_many_tps = [1e6 / v for v in s["tb_many"]]
    extra = []
    if lean is not None:
        extra.append(comparison(
            "single_enqueue_vs_lean", "single enqueue vs native without result tracking",
            "µs/task", s["tb_single"], s["native_lean"],
            apis=(tb.single_api, getattr(native, "lean_api", ""))))
    return [
        comparison("single_enqueue", "single enqueue", "µs/task", s["tb_single"],
                   s["native_single"], target=spec.single_enqueue_target,
                   strict=spec.single_enqueue_target < 1, apis=(tb.single_api, native.single_api)),
        comparison("enqueue_many_vs_bulk", f"bulk enqueue ({sizes.batch}/call)", "µs/task",
                   s["tb_many"], s["native_bulk"], apis=(tb.bulk_api, native.bulk_api)),
        comparison("enqueue_many_vs_single", "enqueue_many vs native single calls",
                   "tasks/s", tb_many_tps, native_single_tps, higher_is_better=True,
                   target=10.0, apis=(tb.bulk_api, native.single_api)),
        comparison("keyed_vs_plain", "idempotency-keyed vs plain enqueue (both taskbridge)",
                   "µs/task", s["tb_keyed"], s["tb_single"], target=1.1,
                   apis=("task.using(idempotency_key=k).enqueue(i)", tb.single_api),
                   sides=("keyed", "plain")),
        *extra,
    ]


def steady_throughput(stamps: list[float], trim: float = 0.1) -> float:
    """Tasks per second between the ``trim`` and ``1 - trim`` completion quantiles, which
    leaves out worker start-up and the last stragglers."""
    low = int(len(stamps) * trim)
    high = len(stamps) - 1 - low
    span = stamps[high] - stamps[low]
    return (high - low) / span if span > 0 else float("inf")


def drain_once(context: Context, key: str, name: str, side: Side, sizes: Sizes,
               round_number: int, extra_env: Mapping[str, str] | None = None,
               ) -> tuple[float, float]:
    """Fill a fresh queue, let ``side``'s worker drain it (``extra_env`` added to its
    environment); returns the steady-state and the whole-drain throughputs (tasks/s)."""
    for chunk in chunks(0, sizes.drain_tasks, PREFILL_CHUNK):
        side.enqueue_bulk(chunk.start, len(chunk))
    stamp_file = context.workdir / f"stamps-{key}-{name}-{round_number}.bin"
    stamps = drain(side.worker_argv(sizes.concurrency),
                   python_env({**side.worker_env(), **(extra_env or {})}),
                   stamp_file, sizes.drain_tasks, _log(context, key, f"drain-{name}"),
                   timeout=sizes.timeout)
    return steady_throughput(stamps), len(stamps) / (stamps[-1] - stamps[0] or 1e-9)


def drain_phase(spec: BackendSpec, context: Context, sizes: Sizes) -> dict[str, Any]:
    """A real worker drains a pre-filled queue of no-op tasks; one fresh queue per side and
    round, alternating which side goes first."""
    results: dict[str, list[float]] = {"taskbridge": [], "native": []}
    totals: dict[str, list[float]] = {"taskbridge": [], "native": []}
    apis = ("", "")
    for round_number in range(sizes.drain_rounds):
        tb, native = spec.open(context, f"drain{round_number}")
        apis = (tb.worker_desc, native.worker_desc)
        order: list[tuple[str, Side]] = [("taskbridge", tb), ("native", native)]
        if round_number % 2:
            order.reverse()
        try:
            for name, side in order:
                steady, whole = drain_once(context, spec.key, name, side, sizes, round_number)
                results[name].append(steady)
                totals[name].append(whole)
        finally:
            tb.close()
            native.close()
    return comparison(
        "drain", f"drain {sizes.drain_tasks} no-op tasks (steady state)", "tasks/s",
        results["taskbridge"], results["native"], higher_is_better=True, target=0.9,
        apis=apis, concurrency=sizes.concurrency,
        whole_drain={"taskbridge": summarize(totals["taskbridge"]),
                     "native": summarize(totals["native"])},
    )


@contextlib.contextmanager
def _workers(context: Context, key: str, sides: Mapping[str, Side],
             concurrency: int) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for name, side in sides.items():
            stack.enter_context(WorkerProcess(side.worker_argv(concurrency),
                                              python_env(side.worker_env()),
                                              _log(context, key, f"rt-{name}")))
        yield


def round_trip_latencies(context: Context, key: str, sides: Mapping[str, Side],
                         sizes: Sizes) -> dict[str, list[list[float]]]:
    """Milliseconds from enqueue to value, per side and round: each side's worker runs (idle)
    on its own queue, and the sides take turns, alternating which goes first."""
    latencies: dict[str, list[list[float]]] = {name: [] for name in sides}
    take = fresh_ranges()
    with _workers(context, key, sides, sizes.concurrency):
        for side in sides.values():
            # The first round trip waits for the worker to start; not recorded.
            side.round_trip(take(1).start, sizes.timeout)
            for i in take(3):
                side.round_trip(i, sizes.timeout)
        for round_number in range(sizes.rt_rounds):
            for name in sides:
                latencies[name].append([])
            for _ in range(sizes.rt_samples):
                names = list(sides) if round_number % 2 == 0 else list(sides)[::-1]
                for name in names:
                    i = take(1).start
                    started = time.perf_counter()
                    sides[name].round_trip(i, sizes.timeout)
                    latencies[name][-1].append((time.perf_counter() - started) * 1e3)
    return latencies


#: The round-trip percentiles reported, with taskbridge ÷ native targets.
ROUND_TRIP_PERCENTILES = (("p50", 0.5, 1.2), ("p95", 0.95, None))


def round_trip_phase(spec: BackendSpec, context: Context, sizes: Sizes) -> list[dict[str, Any]]:
    """Enqueue one task and wait for its value, taskbridge and native alternating; both
    workers run (idle) side by side on their own queues."""
    tb, native = spec.open(context, "roundtrip")
    try:
        latencies = round_trip_latencies(context, spec.key,
                                         {"taskbridge": tb, "native": native}, sizes)
    finally:
        tb.close()
        native.close()
    rows = []
    for label, fraction, target in ROUND_TRIP_PERCENTILES:
        per_round = {name: [percentile(r, fraction) for r in rounds]
                     for name, rounds in latencies.items()}
        everything = {name: [v for r in rounds for v in r] for name, rounds in latencies.items()}
        row = comparison(f"round_trip_{label}", f"enqueue→result round trip {label}", "ms",
                         per_round["taskbridge"], per_round["native"], target=target,
                         apis=(tb.result_api, native.result_api),
                         overall={name: percentile(v, fraction)
                                  for name, v in everything.items()})
        rows.append(row)
    return rows


def _log(context: Context, key: str, what: str) -> Path:
    return context.workdir / "logs" / f"{key}-{what}.log"
