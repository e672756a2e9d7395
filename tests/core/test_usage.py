"""Peak memory per attempt: each attempt's own, without resetting the process's peak before
every attempt (a reset costs the kernel far more than the measurement)."""

from __future__ import annotations

import sys

import pytest

from taskbridge import _usage
from taskbridge._usage import RESET_ABOVE, measured

MiB = 1 << 20

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="peak resets need Linux /proc")


def _attempt(hold_mib: int = 0) -> int | None:
    with measured() as meter:
        held = bytearray(hold_mib * MiB)
        held[::4096] = b"x" * len(held[::4096])  # touch every page: resident, not just mapped
        del held
    return meter.usage.peak_memory


def test_a_small_attempt_after_a_big_one_reports_its_own_peak() -> None:
    """A 96 MiB attempt, then a no-op one: the second's peak is not the first's."""
    big = _attempt(96)
    small = _attempt()
    assert big is not None and small is not None
    assert small < big - 64 * MiB


def test_steady_attempts_do_not_reset_the_peak_each_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Attempts that stay under the resident size leave the peak alone; a big one makes the
    next attempt reset it, once."""
    resets: list[bool] = []
    real = _usage._reset_peak_rss

    def counted() -> bool:
        resets.append(real())
        return resets[-1]

    monkeypatch.setattr(_usage, "_reset_peak_rss", counted)
    _attempt(64)
    _attempt()  # resets after the big one
    before = len(resets)
    peaks = [_attempt() for _ in range(50)]
    assert len(resets) - before <= 2  # Python's own allocations may cross the margin once
    assert all(p is not None for p in peaks)
    assert max(p for p in peaks if p) - min(p for p in peaks if p) <= 4 * RESET_ABOVE
