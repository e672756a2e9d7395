"""The plots the README shows: taskbridge ÷ native (``ratios.png``) and cost against records
in the store (``scaling.png``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from benchmarks.report import HEADLINE

#: The scale benchmark's operations, in its order, each with its line colour.
SCALE_OPERATIONS = (("create", "#4c72b0"), ("enqueue", "#dd8452"), ("start", "#55a868"),
                    ("finish", "#c44e52"))
#: How far a filled store may be from an empty one (the issue's "flat within 10 %").
SCALE_TOLERANCE = 0.10


def write_plot(results: dict[str, Any], path: Path) -> bool:
    """Draw ``ratios.png``; False (and nothing written) when matplotlib is not installed
    (``pip install -r benchmarks/requirements.txt``)."""
    plt = _pyplot()
    if plt is None:
        return False
    backends = {k: b for k, b in results["backends"].items() if b.get("comparisons")}
    if not backends:
        return False
    fig, axes = plt.subplots(1, len(HEADLINE), figsize=(3.2 * len(HEADLINE), 3.6))
    colors = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3"]
    for axis, (metric, label) in zip(axes, HEADLINE, strict=True):
        names, values, errors, targets = [], [], [], set()
        for key, backend in backends.items():
            row = next((r for r in backend["comparisons"] if r["metric"] == metric), None)
            if row is None or row["ratio"] is None:
                continue
            names.append(key)
            values.append(row["ratio"])
            errors.append(_ratio_range(row))
            if row["target"] is not None:
                targets.add(row["target"])
        positions = range(len(names))
        low = [max(v - lo, 0) for v, (lo, _) in zip(values, errors, strict=True)]
        high = [max(hi - v, 0) for v, (_, hi) in zip(values, errors, strict=True)]
        axis.bar(positions, values, color=colors[: len(names)], yerr=[low, high], capsize=3)
        axis.set_xticks(list(positions), names, rotation=30, ha="right", fontsize=8)
        for target in sorted(targets):
            axis.axhline(target, color="black", linestyle="--", linewidth=0.8)
        axis.axhline(1.0, color="grey", linewidth=0.5)
        axis.set_title(label, fontsize=8)
        for x, value, (_, top) in zip(positions, values, errors, strict=True):
            # Above the whisker, so the number never sits on the error bar.
            axis.annotate(f"{value:.2f}", (x, max(value, top)), ha="center", va="bottom",
                          fontsize=7, xytext=(0, 3), textcoords="offset points")
        axis.margins(y=0.12)
    axes[0].set_ylabel("taskbridge ÷ native (dashed: target)")
    date = str(results.get("meta", {}).get("started_at", ""))[:10]
    fig.suptitle("taskbridge ÷ native, same run" + (f" of {date}" if date else "")
                 + " (bars: median; whiskers: min..max round ratio)", fontsize=9)
    _save(plt, fig, path)
    return True


def _pyplot() -> Any | None:
    """``matplotlib.pyplot`` drawing to files only, or None when matplotlib is not installed."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt: Any, fig: Any, path: Path) -> None:
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _ratio_range(row: dict[str, Any]) -> tuple[float, float]:
    """Smallest and largest ratio of paired samples (round by round)."""
    tb, native = row["samples"]["taskbridge"], row["samples"]["native"]
    paired = [t / n for t, n in zip(tb, native, strict=False) if n]
    if not paired:
        return row["ratio"], row["ratio"]
    return min(paired), max(paired)


def write_scale_plot(results: dict[str, Any], path: Path) -> bool:
    """Draw ``scaling.png`` from ``benchmarks.scale``'s results: each operation's median cost
    (a whisker up to its p95) against records in the store, a panel a store, shaded where it
    is within 10 % of a store kept empty. False (and nothing written) when matplotlib is not
    installed."""
    plt = _pyplot()
    if plt is None:
        return False
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    stores = {kind: data for kind, data in results["stores"].items() if data.get("levels")}
    if not stores:
        return False
    levels = results["meta"]["levels"]
    # Evenly spaced whatever the levels are (0, 100k, 1M): log-like, and 0 has a place.
    positions = list(range(len(levels)))
    fig, axes = plt.subplots(1, len(stores), figsize=(5.2 * len(stores), 4.6), squeeze=False)
    for axis, (kind, data) in zip(axes[0], stores.items(), strict=True):
        for index, (op, color) in enumerate(SCALE_OPERATIONS):
            # Each operation a little apart, so its p95 whisker and band stay its own.
            xs = [x + (index - 1.5) * 0.05 for x in positions]
            median = [data["levels"][str(n)][op]["median_us"] for n in levels]
            p95 = [data["levels"][str(n)][op]["p95_us"] for n in levels]
            empty = [data["empty"][str(n)][op]["median_us"] for n in levels]
            axis.fill_between(xs, [e * (1 - SCALE_TOLERANCE) for e in empty],
                              [e * (1 + SCALE_TOLERANCE) for e in empty], color=color,
                              alpha=0.15, linewidth=0)
            above = [max(p - m, 0) for p, m in zip(p95, median, strict=True)]
            axis.errorbar(xs, median, yerr=[[0] * len(median), above], color=color,
                          elinewidth=0.8, capsize=3, marker="o", markersize=5, label=op)
            for x, value, reference in zip(xs, median, empty, strict=True):
                if x > 0.5 and value > reference * (1 + SCALE_TOLERANCE):
                    axis.plot(x, value, marker="o", markersize=10, fillstyle="none",
                              color="black", markeredgewidth=0.8, linewidth=0)
        axis.set_yscale("log")
        axis.yaxis.set_major_formatter(ScalarFormatter())
        axis.yaxis.set_minor_formatter(NullFormatter())
        axis.set_yticks([50, 100, 200, 500, 1000, 2000, 5000])
        axis.set_ylim(min(50.0, axis.get_ylim()[0]), max(3000.0, axis.get_ylim()[1]))
        axis.set_xticks(positions, [f"{n:,}" for n in levels])
        axis.set_xlim(-0.4, positions[-1] + 0.4)
        axis.set_xlabel("records already in the store")
        axis.set_ylabel("µs per call (log scale)")
        axis.grid(axis="y", color="#dddddd", linewidth=0.6)
        axis.set_title(_STORE_TITLES.get(kind, kind), fontsize=10)
        axis.legend(fontsize=8, loc="upper left", ncols=4)
    meta = results["meta"]
    fig.suptitle(
        f"Cost per call against records in the store, run {meta['date']}"
        f" ({meta['sizes']['samples']:,} calls each{', --quick' if meta.get('quick') else ''})\n"
        "dots: median; whisker up to p95; shaded: an empty store's median ±10 % "
        "(the target); circled: a filled store outside it", fontsize=9)
    _save(plt, fig, path)
    return True


_STORE_TITLES = {"redis": "Redis store (huey+redis)", "sqlite": "SQLite store (huey+sqlite)"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.plot",
        description="Redraw a plot from a results file, next to it: ratios.png from "
                    "results.json, or with --scale scaling.png from scale.json.")
    parser.add_argument("results", type=Path, nargs="?",
                        help="results.json of python -m benchmarks")
    parser.add_argument("--scale", type=Path, help="scale.json of python -m benchmarks.scale")
    args = parser.parse_args(argv)
    if (args.results is None) == (args.scale is None):
        parser.error("give either a results.json or --scale scale.json")
    source = args.scale or args.results
    target = source.with_name("scaling.png" if args.scale else "ratios.png")
    draw = write_scale_plot if args.scale else write_plot
    if _pyplot() is None:
        print("no plot: matplotlib is missing (pip install -r benchmarks/requirements.txt)")
        return 1
    if not draw(json.loads(source.read_text()), target):
        print(f"no plot: {source} holds nothing to draw")
        return 1
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
