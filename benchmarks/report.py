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
    for key, backend in backends.items():
        lines += _backend_section(key, backend)
    return "\n".join(lines) + "\n"


def _backend_section(key: str, backend: dict[str, Any]) -> list[str]:
    lines = [f"## {backend['title']} (`{key}`)", ""]
    if backend.get("skipped"):
        return [*lines, f"Skipped: {backend['skipped']}", ""]
    if backend.get("error"):
        lines += [f"**Error:** {backend['error']}", ""]
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
    calls = backend.get("calls_per_enqueue")
    if calls:
        lines += [
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
    return lines


def write_markdown(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown(results))
