"""Timing primitives: interleaved A/B rounds, summaries (median, IQR, min/max) and ratios."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

#: One sample: runs the measured work and returns the value to record (seconds, µs, ops/s).
Sample = Callable[[], float]


def summarize(values: Sequence[float]) -> dict[str, Any]:
    """Median, quartiles, extremes and count of ``values``."""
    ordered = sorted(values)
    if not ordered:
        return {"n": 0, "median": None, "q1": None, "q3": None, "min": None, "max": None}
    if len(ordered) >= 2:
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    else:
        q1 = q3 = ordered[0]
    return {
        "n": len(ordered),
        "median": statistics.median(ordered),
        "q1": q1,
        "q3": q3,
        "min": ordered[0],
        "max": ordered[-1],
    }


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile of ``values`` (linear interpolation, like numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def interleave(rounds: int, sides: Mapping[str, Sample]) -> dict[str, list[float]]:
    """Run each side once a round, alternating which goes first (A B, B A, A B, ...), so
    drift in the machine's load falls on both sides alike."""
    names = list(sides)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(rounds):
        order = names if round_number % 2 == 0 else names[::-1]
        for name in order:
            samples[name].append(sides[name]())
    return samples


def per_task_micros(work: Callable[[int], None], count: int) -> Sample:
    """A sample that times ``work(count)`` and returns microseconds per task.

    A full collection runs before timing so one side's garbage is not billed to the other;
    collections during the sample stay in, as a real producer pays for them.
    """

    def sample() -> float:
        gc.collect()
        started = time.perf_counter()
        work(count)
        return (time.perf_counter() - started) / count * 1e6

    return sample


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator
