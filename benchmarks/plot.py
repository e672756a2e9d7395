"""The ratio plot the README shows: taskbridge ÷ native per measurement and backend."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from benchmarks.report import HEADLINE


def write_plot(results: dict[str, Any], path: Path) -> bool:
    """Draw ``ratios.png``; False (and nothing written) when matplotlib is not installed
    (``pip install -r benchmarks/requirements.txt``)."""
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    backends = {k: b for k, b in results["backends"].items() if b.get("comparisons")}
    if not backends:
        return False
    fig, axes = plt.subplots(1, len(HEADLINE), figsize=(3.2 * len(HEADLINE), 3.6))
    colors = ["#4c72b0", "#dd8452", "#55a868", "#c44e52"]
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
    fig.suptitle("taskbridge ÷ native, same run (bars: median; whiskers: min..max round ratio)",
                 fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def _ratio_range(row: dict[str, Any]) -> tuple[float, float]:
    """Smallest and largest ratio of paired samples (round by round)."""
    tb, native = row["samples"]["taskbridge"], row["samples"]["native"]
    paired = [t / n for t, n in zip(tb, native, strict=False) if n]
    if not paired:
        return row["ratio"], row["ratio"]
    return min(paired), max(paired)


if __name__ == "__main__":
    # Redraw from a results file: python -m benchmarks.plot benchmarks/results/results.json
    source = Path(sys.argv[1])
    write_plot(json.loads(source.read_text()), source.with_name("ratios.png"))
