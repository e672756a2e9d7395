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

#: How far the process's peak may stand above its resident size before the next attempt resets
#: it: the most a peak reported without a reset can overstate the attempt's own.
RESET_ABOVE = 1 << 20
#: Linux: the process's sizes in pages; its second field is the resident size.
_STATM = "/proc/self/statm"
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class _Proc:
    """This process's ``/proc`` files, opened once (``None``: not yet; -1: not available)."""

    def __init__(self) -> None:
        self.clear_refs: int | None = None
        self.statm: int | None = None
        #: Whether the peak may stand above the resident size (a past attempt, or start-up,
        #: went higher): the next attempt alone resets it first.
        self.stale_peak = True

    def close(self) -> None:
        for fd in (self.clear_refs, self.statm):
            if fd is not None and fd >= 0:
                os.close(fd)


_proc = _Proc()


def _forget_parent() -> None:
    # A forked child runs none of its parent's attempts, must not inherit a held lock, and
    # must open its own /proc files (the inherited descriptors are the parent's).
    global _lock, _proc
    _lock = threading.Lock()
    _meters.clear()
    _proc.close()
    _proc = _Proc()


os.register_at_fork(after_in_child=_forget_parent)


def _rusage() -> tuple[float | None, int | None]:
    """The process's CPU seconds so far and its peak resident memory in bytes."""
    if resource is None:
        return None, None
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak = int(usage.ru_maxrss)
    return usage.ru_utime + usage.ru_stime, peak if sys.platform == "darwin" else peak * 1024


def _opened(path: str, flags: int) -> int:
    try:
        return os.open(path, flags)
    except OSError:
        return -1


def _reset_peak_rss() -> bool:
    """Set the process's peak resident memory to its current size (Linux)."""
    if _proc.clear_refs is None:
        _proc.clear_refs = _opened(_CLEAR_REFS, os.O_WRONLY)
    if _proc.clear_refs < 0:
        return False
    try:
        os.write(_proc.clear_refs, b"5")
    except OSError:
        return False
    return True


def _resident() -> int | None:
    """The process's resident memory in bytes now (Linux)."""
    if _proc.statm is None:
        _proc.statm = _opened(_STATM, os.O_RDONLY)
    if _proc.statm < 0:
        return None
    try:
        return int(os.pread(_proc.statm, 128, 0).split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


@contextlib.contextmanager
def measured() -> Iterator[_Meter]:
    """Measure the block (one attempt); read ``meter.usage`` afterwards.

    CPU time is the process's when the attempt ran alone in it (a process pool, or one task at
    a time: threads the task started count too), else the running thread's. Peak memory is the
    process's peak resident size while the attempt ran (at most :data:`RESET_ABOVE` over),
    known only when it ran alone.
    """
    key = next(_keys)
    with _lock:
        meter = _Meter(alone=not _meters)
        for other in _meters.values():
            other.alone = False
        _meters[key] = meter
        # The peak belongs to this attempt only in a process running nothing else, and only
        # when it starts at the resident size: reset it when an earlier peak stands above
        # (resetting costs the kernel far more than reading: not before every attempt).
        clean = meter.alone and (not _proc.stale_peak or _reset_peak_rss())
    process_before, peak_before = _rusage()
    thread_before = time.thread_time()
    try:
        yield meter
    finally:
        process_after, peak = _rusage()
        thread_after = time.thread_time()
        with _lock:
            _meters.pop(key, None)
            alone = meter.alone
            if alone:
                resident = _resident()
                _proc.stale_peak = (resident is None or peak is None
                                    or peak > resident + RESET_ABOVE)
        cpu: float | None = thread_after - thread_before
        if alone and process_before is not None and process_after is not None:
            cpu = process_after - process_before
        # Without a clean start, a peak reached before the attempt hides the attempt's own.
        hidden = not clean and (peak is None or peak_before is None or peak <= peak_before)
        if not alone or hidden:
            peak = None
        meter.usage = Usage(None if cpu is None else max(0.0, cpu), peak)
