"""The results as JSON and as a markdown report (the table the README quotes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: The ratios the summary table and the plot show, in order, with how to read them.
HEADLINE = (
    ("single_enqueue", "single enqueue (time)"),
    ("enqueue_many_vs_single", "enqueue_many vs native single (throughput)"),
    ("keyed_vs_plain", "keyed ÷ plain enqueue (time)"),
    ("drain", "drain (throughput)"),
    ("round_trip_p50", "round trip p50 (time)"),
)


#: Backends whose native side is itself an alternative a user might pick instead of taskbridge:
#: the absolute-figures table lists that side next to the references.
ALTERNATIVE_NATIVES = {"procrastinate": "Procrastinate on PostgreSQL (its own API)"}
#: The absolute-figures table's columns: (key, heading, the metrics it takes its median from
#: (a comparison's or a reference's), and whether that median is µs/task to turn into a rate).
ABSOLUTE_COLUMNS = (
    ("enqueue_per_s", "enqueues/s", ("single_enqueue",), True),
    ("bulk_per_s", "bulk enqueues/s", ("enqueue_many_vs_bulk", "bulk_enqueue"), True),
    ("drain_per_s", "drain tasks/s", ("drain",), False),
    ("round_trip_p50_ms", "round trip p50 ms", ("round_trip_p50",), False),
    ("round_trip_p95_ms", "round trip p95 ms", ("round_trip_p95",), False),
)


def absolute_figures(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per thing a user could run: taskbridge on each backend (its taskbridge side),
    each reference, and the native sides in :data:`ALTERNATIVE_NATIVES`; medians only."""
    table: list[tuple[str, str, dict[str, dict[str, Any]]]] = []
    for key, backend in results.get("backends", {}).items():
        rows = _rows_by_metric(backend)
        if rows:
            table.append((f"taskbridge on {backend['title']}", key,
                          {m: r["taskbridge"] for m, r in rows.items()}))
    for key, backend in results.get("backends", {}).items():
        rows = _rows_by_metric(backend)
        if rows and key in ALTERNATIVE_NATIVES:
            table.append((ALTERNATIVE_NATIVES[key], f"{key} (native side)",
                          {m: r["native"] for m, r in rows.items()}))
    for key, reference in results.get("references", {}).items():
        # A variant (other worker settings) is a row of its own, with what it measured.
        by_variant: dict[str | None, dict[str, dict[str, Any]]] = {}
        for row in reference.get("measurements", []):
            by_variant.setdefault(row.get("variant"), {})[row["metric"]] = row["value"]
        for variant, rows in by_variant.items():
            table.append((reference["title"] + (f", {variant}" if variant else ""),
                          key + (f" ({variant})" if variant else ""), rows))
    figures = []
    for name, source, summaries in table:
        figure: dict[str, Any] = {"name": name, "source": source}
        for column, _, metrics, micros in ABSOLUTE_COLUMNS:
            median = next((summaries[m]["median"] for m in metrics if m in summaries), None)
            if median is not None and micros:
                median = 1e6 / median if median else None
            figure[column] = median
        figures.append(figure)
    return figures


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if unit == "tasks/s" or abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _spread(summary: dict[str, Any], unit: str) -> str:
    if not summary.get("n"):
        return "n/a"
    return (f"{_number(summary['median'], unit)} "
            f"[{_number(summary['min'], unit)}..{_number(summary['max'], unit)}]")


def target_text(row: dict[str, Any]) -> str:
    if row.get("target") is None:
        return ""
    if row["higher_is_better"]:
        sign = ">" if row.get("strict") else "≥"
    else:
        sign = "<" if row.get("strict") else "≤"
    return f"{sign} {row['target']:g}"


def ratio_cell(row: dict[str, Any] | None) -> str:
    if row is None or row.get("ratio") is None:
        return "n/a"
    mark = {True: " ✅", False: " ❌", None: ""}[row.get("target_met")]
    return f"{row['ratio']:.2f}{mark}"


def _rows_by_metric(backend: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["metric"]: row for row in backend.get("comparisons", [])}


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [
        "# taskbridge vs the native engines",
        "",
        f"Run {meta['started_at']} ({meta['duration_s']:.0f} s{', quick' if meta['quick'] else ''}"
        f"): Python {meta['python']}, {meta['cpu_count']} CPUs, {meta['platform']}; "
        f"load average {meta['load_before'][0]:.2f} before, {meta['load_after'][0]:.2f} after; "
        f"other taskbridge workers running at start: {meta['other_workers_before']}.",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
        + f"; redis-server {meta.get('redis_server', '?')} (private instance).",
        f"Sizes: {meta['sizes']}.",
        "",
        "Ratios are taskbridge ÷ native medians from the same run, samples interleaved "
        "(A B, B A, …). Times: lower is better; throughputs: higher is better. "
        "Cells: median [min..max] over rounds.",
        "",
    ]
    raw = results.get("raw_redis")
    if raw:
        lines += [
            "## Raw Redis (the physical limit)",
            "",
            "| operation | µs/op median [min..max] |",
            "| --- | --- |",
            f"| one LPUSH, one round trip | {_spread(raw['lpush_round_trip_us'], 'µs')} |",
            f"| pipelined LPUSH ({raw['pipeline_batch']} per round trip) | "
            f"{_spread(raw['pipelined_lpush_us'], 'µs')} |",
            "",
        ]
    backends = results["backends"]
    keys = [k for k, b in backends.items() if b.get("comparisons")]
    if keys:
        lines += ["## Ratios against targets", "",
                  "| ratio | target | " + " | ".join(backends[k]["title"] for k in keys) + " |",
                  "| --- | --- |" + " --- |" * len(keys)]
        for metric, label in HEADLINE:
            rows = [_rows_by_metric(backends[k]).get(metric) for k in keys]
            targets = {target_text(r) for r in rows if r}
            lines.append(f"| {label} | {' / '.join(sorted(targets))} | "
                         + " | ".join(ratio_cell(r) for r in rows) + " |")
        lines.append("")
    figures = absolute_figures(results)
    if figures:
        lines += [
            "## Absolute figures: taskbridge on each engine and the alternatives",
            "",
            "What a user would see with each choice, from this run: medians over rounds "
            "(enqueues/s from the median µs/task; the concurrency is the run's).",
            "",
            "| | " + " | ".join(heading for _, heading, _, _ in ABSOLUTE_COLUMNS) + " |",
            "| --- |" + " --- |" * len(ABSOLUTE_COLUMNS),
            *(f"| {f['name']} | "
              + " | ".join(_number(f[column], "" if column.endswith("_ms") else "tasks/s")
                           for column, _, _, _ in ABSOLUTE_COLUMNS) + " |"
              for f in figures),
            "",
        ]
    for key, backend in backends.items():
        lines += _backend_section(key, backend)
    for key, reference in results.get("references", {}).items():
        lines += _reference_section(key, reference)
    return "\n".join(lines) + "\n"


def _section_head(key: str, entry: dict[str, Any]) -> tuple[list[str], bool]:
    """A backend's or a reference's heading, and its skip or error line; True when it was
    skipped (nothing else to show)."""
    lines = [f"## {entry['title']} (`{key}`)", ""]
    if entry.get("skipped"):
        return [*lines, f"Skipped: {entry['skipped']}", ""], True
    if entry.get("error"):
        lines += [f"**Error:** {entry['error']}", ""]
    return lines, False


def _backend_section(key: str, backend: dict[str, Any]) -> list[str]:
    lines, skipped = _section_head(key, backend)
    if skipped:
        return lines
    rows = backend.get("comparisons", [])
    if rows:
        lines += [
            "| measurement | unit | taskbridge | native | ratio | target | taskbridge API | "
            "native API |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for row in rows:
            lines.append(
                f"| {row['label']} | {row['unit']} | {_spread(row['taskbridge'], row['unit'])} | "
                f"{_spread(row['native'], row['unit'])} | {ratio_cell(row)} | "
                f"{target_text(row)} | {row['taskbridge_api']} | {row['native_api']} |"
            )
        lines.append("")
    return lines + _calls_lines(backend.get("calls_per_enqueue"))


def _reference_section(key: str, reference: dict[str, Any]) -> list[str]:
    lines, skipped = _section_head(key, reference)
    if skipped:
        return lines
    rows = reference.get("measurements", [])
    if rows:
        lines += [
            "Its own API alone (no taskbridge side, so no ratio).",
            "",
            "| measurement | unit | median [min..max] | API |",
            "| --- | --- | --- | --- |",
            *(f"| {row['label']} | {row['unit']} | {_spread(row['value'], row['unit'])} | "
              f"{row['api']} |" for row in rows),
            "",
        ]
    return lines + _calls_lines(reference.get("calls_per_enqueue"))


def _calls_lines(calls: dict[str, dict[str, float]] | None) -> list[str]:
    if not calls:
        return []
    return [
        "Cost of one single enqueue, measured apart from the timed samples (CPU times "
        "exclude waiting, so other load on the machine barely moves them):",
        "",
        "| side | round trips | Redis commands | Redis server CPU µs | producer CPU µs |",
        "| --- | --- | --- | --- | --- |",
        *(f"| {side} | {_number(c['round_trips'])} | {_number(c['commands'])} | "
          f"{_number(c['server_cpu_us'])} | {_number(c['client_cpu_us'])} |"
          for side, c in calls.items()),
        "",
    ]


def write_markdown(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown(results))
