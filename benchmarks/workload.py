"""The taskbridge side's benchmark task; workers load it with ``--imports benchmarks.workload``."""

from __future__ import annotations

from benchmarks import stamps
from taskbridge import task


@task(name="bench.noop")
def noop(i: int) -> int:
    """Do nothing but leave a completion stamp; return the argument so results are non-empty."""
    stamps.record()
    return i
