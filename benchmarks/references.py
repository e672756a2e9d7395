"""Reference rows: what a user would pick instead of taskbridge, measured alone in the same run.

A reference has only a native side (no taskbridge involved), so its figures are absolute
(enqueues/s, drain tasks/s, round-trip milliseconds), not ratios. It is timed with the same
functions as the backends' comparisons (:mod:`benchmarks.phases`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from benchmarks import probe
from benchmarks.engines import Context
from benchmarks.measure import interleave, per_task_micros, percentile, summarize
from benchmarks.native import DRAMATIQ_QUEUE_ENV, REDIS_ENV
from benchmarks.phases import (
    ROUND_TRIP_PERCENTILES,
    Sizes,
    drain_once,
    fresh_ranges,
    in_bulk,
    one_by_one,
    round_trip_latencies,
)
from benchmarks.sides import NativeSide, check_value, python_module

#: The Dramatiq worker: one process (as every other drain here), ``--concurrency`` threads.
DRAMATIQ_PROCESSES = 1
#: Worker settings the drain also measures, by name. Dramatiq's Redis consumer prefetches
#: 2 x threads messages and, holding that many unacknowledged, sleeps 5-10 ms (then longer)
#: before it fetches again, which caps a 1-thread worker at a few hundred tasks/s; 16 is what
#: its default 8 threads prefetch (``dramatiq_queue_prefetch`` is its setting for it).
DRAMATIQ_WORKER_VARIANTS = {"prefetch 16": {"dramatiq_queue_prefetch": "16"}}


class DramatiqNative:
    """Dramatiq on Redis through its own API: ``RedisBroker``, an actor, the Results
    middleware with its ``RedisBackend``, and the ``dramatiq`` worker."""

    single_api = "actor.send(i)"
    bulk_api = ("group(actor.message(i) …).run() (a loop of broker.enqueue: Dramatiq has no "
                "bulk enqueue)")
    result_api = "actor.send(i).get_result(block=True, timeout=ms) (Results, RedisBackend)"
    worker_desc = f"dramatiq --processes {DRAMATIQ_PROCESSES} --threads N --queues …"

    def __init__(self, context: Context, tag: str) -> None:
        from benchmarks.native.dramatiq_app import build

        self.redis_url = context.redis_url
        self.queue = f"native-{tag}"
        self.broker, self.actor = build(context.redis_url, self.queue)

    def enqueue(self, i: int) -> None:
        self.actor.send(i)

    def enqueue_bulk(self, start: int, count: int) -> None:
        from dramatiq import group

        group((self.actor.message(i) for i in range(start, start + count)),
              broker=self.broker).run()

    def round_trip(self, i: int, timeout: float) -> None:
        value = self.actor.send(i).get_result(block=True, timeout=int(timeout * 1000))
        check_value(value, i, "dramatiq")

    def worker_argv(self, concurrency: int) -> list[str]:
        return python_module("dramatiq", "benchmarks.native.dramatiq_app",
                             "--processes", str(DRAMATIQ_PROCESSES),
                             "--threads", str(concurrency), "--queues", self.queue)

    def worker_env(self) -> dict[str, str]:
        return {REDIS_ENV: self.redis_url, DRAMATIQ_QUEUE_ENV: self.queue}

    def close(self) -> None:
        self.broker.get_results_backend().client.close()
        self.broker.client.close()


@dataclass(frozen=True)
class ReferenceSpec:
    """One alternative to taskbridge, measured through its own API only."""

    key: str
    title: str
    #: The distributions it needs; the first is the one reported missing.
    engines: tuple[str, ...]
    install: str
    uses_redis: bool
    native: Callable[[Context, str], NativeSide]
    #: Other worker environments the drain measures too, each a row of its own, by name.
    worker_variants: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def missing(self) -> str | None:
        """Why it cannot run here (a distribution not installed), or None."""
        for name in self.engines:
            try:
                metadata.version(name)
            except metadata.PackageNotFoundError:
                return f"{name} is not installed ({self.install})"
        return None


REFERENCES: dict[str, ReferenceSpec] = {
    spec.key: spec
    for spec in (
        ReferenceSpec("dramatiq", "Dramatiq on Redis (reference)", ("dramatiq", "redis"),
                      "pip install 'dramatiq[redis]'", True, DramatiqNative,
                      DRAMATIQ_WORKER_VARIANTS),
    )
}


def measurement(metric: str, label: str, unit: str, samples: list[float], *, api: str,
                higher_is_better: bool = False, **extra: Any) -> dict[str, Any]:
    """One reference row: the summary of its samples (no other side, so no ratio)."""
    return {"metric": metric, "label": label, "unit": unit, "value": summarize(samples),
            "higher_is_better": higher_is_better, "api": api, "samples": samples, **extra}


def enqueue_phase(spec: ReferenceSpec, context: Context, sizes: Sizes) -> list[dict[str, Any]]:
    """Single and bulk enqueues, interleaved, as the backends' enqueue phase times them."""
    side = spec.native(context, "enqueue")
    take = fresh_ranges()
    try:
        one_by_one(take, side.enqueue)(20)  # warm-up, not recorded
        in_bulk(take, side)(50)
        s = interleave(sizes.rounds, {
            "single": per_task_micros(one_by_one(take, side.enqueue), sizes.single),
            "bulk": per_task_micros(in_bulk(take, side), sizes.batch),
        })
    finally:
        side.close()
    return [
        measurement("single_enqueue", "single enqueue", "µs/task", s["single"],
                    api=side.single_api),
        measurement("bulk_enqueue", f"bulk enqueue ({sizes.batch}/call)", "µs/task", s["bulk"],
                    api=side.bulk_api),
    ]


def drain_phase(spec: ReferenceSpec, context: Context, sizes: Sizes) -> list[dict[str, Any]]:
    """Its worker drains a pre-filled queue of no-op tasks, a fresh queue each round: as it
    comes, then with each of the spec's ``worker_variants`` (a row each)."""
    variants: dict[str | None, Mapping[str, str]] = {None: {}, **spec.worker_variants}
    steady: dict[str | None, list[float]] = {variant: [] for variant in variants}
    whole: dict[str | None, list[float]] = {variant: [] for variant in variants}
    api = ""
    for round_number in range(sizes.drain_rounds):
        order = list(enumerate(variants.items()))
        for index, (variant, env) in order[::-1] if round_number % 2 else order:
            side = spec.native(context, f"drain{round_number}v{index}")
            api = side.worker_desc
            try:
                throughput, overall = drain_once(context, spec.key, f"native-v{index}", side,
                                                 sizes, round_number, env)
            finally:
                side.close()
            steady[variant].append(throughput)
            whole[variant].append(overall)
    return [
        measurement("drain", f"drain {sizes.drain_tasks} no-op tasks (steady state)"
                    + (f", {variant}" if variant else ""), "tasks/s", steady[variant],
                    api=api + (f" with {' '.join(f'{k}={v}' for k, v in env.items())}"
                               if env else ""),
                    higher_is_better=True, concurrency=sizes.concurrency,
                    whole_drain=summarize(whole[variant]), variant=variant)
        for variant, env in variants.items()
    ]


def round_trip_phase(spec: ReferenceSpec, context: Context,
                     sizes: Sizes) -> list[dict[str, Any]]:
    """Enqueue one task and wait for its value, its worker running (idle) on its queue."""
    side = spec.native(context, "roundtrip")
    try:
        rounds = round_trip_latencies(context, spec.key, {"native": side}, sizes)["native"]
    finally:
        side.close()
    everything = [v for r in rounds for v in r]
    return [
        measurement(f"round_trip_{label}", f"enqueue→result round trip {label}", "ms",
                    [percentile(r, fraction) for r in rounds], api=side.result_api,
                    overall=percentile(everything, fraction))
        for label, fraction, _ in ROUND_TRIP_PERCENTILES
    ]


def calls_phase(spec: ReferenceSpec, context: Context) -> dict[str, dict[str, float]]:
    """Round trips, Redis commands and CPU per single enqueue, as for the backends."""
    side = spec.native(context, "calls")
    try:
        return {"native": probe.calls_per_enqueue(side.enqueue, context.redis_url)}
    finally:
        side.close()
