"""What an attempt cost: its CPU time and its process's peak resident memory, measured in the
process that ran it, where the attempt can be told apart from others running beside it."""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import threading
import time
from collections.abc import Iterator

import attrs

try:
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]

#: Linux: writing "5" here resets the process's peak resident memory to its current size, so
#: the peak seen afterwards (``ru_maxrss``) is the attempt's own.
_CLEAR_REFS = "/proc/self/clear_refs"


@attrs.frozen
class Usage:
    """CPU seconds and peak resident bytes of one attempt; ``None`` where not measurable."""

    cpu_time: float | None = None
    peak_memory: int | None = None


#: Nothing measured (crash recovery, a rejected message).
UNMEASURED = Usage()


@attrs.define
class _Meter:
    """One attempt being measured; ``alone`` until another attempt runs in this process."""

    alone: bool
    usage: Usage = Usage()


_lock = threading.Lock()
_meters: dict[int, _Meter] = {}
_keys = itertools.count()
#: This process's clear_refs, opened once (``None``: not yet; -1: not available here).
_clear_refs: int | None = None


def _forget_parent() -> None:
    # A forked child runs none of its parent's attempts, must not inherit a held lock, and
    # must open its own clear_refs (the inherited descriptor is the parent's).
    global _lock, _clear_refs
    _lock = threading.Lock()
    _meters.clear()
    if _clear_refs is not None and _clear_refs >= 0:
        os.close(_clear_refs)
    _clear_refs = None


os.register_at_fork(after_in_child=_forget_parent)


def _process_cpu() -> float | None:
    if resource is None:
        return None
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss() -> int | None:
    """The process's peak resident memory in bytes."""
    if resource is None:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024  # macOS counts bytes


def _reset_peak_rss() -> bool:
    global _clear_refs
    if _clear_refs is None:
        try:
            _clear_refs = os.open(_CLEAR_REFS, os.O_WRONLY)
        except OSError:
            _clear_refs = -1
    if _clear_refs < 0:
        return False
    try:
        os.write(_clear_refs, b"5")
    except OSError:
        return False
    return True


@contextlib.contextmanager
def measured() -> Iterator[_Meter]:
    """Measure the block (one attempt); read ``meter.usage`` afterwards.

    CPU time is the process's when the attempt ran alone in it (a process pool, or one task at
    a time: threads the task started count too), else the running thread's. Peak memory is the
    process's peak resident size while the attempt ran, known only when it ran alone.
    """
    key = next(_keys)
    with _lock:
        meter = _Meter(alone=not _meters)
        for other in _meters.values():
            other.alone = False
        _meters[key] = meter
        # Reset the peak only in a process running nothing else, where it can be reset.
        reset = meter.alone and _reset_peak_rss()
    peak_before = None if reset else _peak_rss()
    process_before, thread_before = _process_cpu(), time.thread_time()
    try:
        yield meter
    finally:
        process_after, thread_after = _process_cpu(), time.thread_time()
        with _lock:
            _meters.pop(key, None)
        cpu: float | None = thread_after - thread_before
        if meter.alone and process_before is not None and process_after is not None:
            cpu = process_after - process_before
        peak = _peak_rss() if meter.alone else None
        # Without a reset, a peak reached before the attempt hides the attempt's own.
        if not reset and (peak is None or peak_before is None or peak <= peak_before):
            peak = None
        meter.usage = Usage(None if cpu is None else max(0.0, cpu), peak)
