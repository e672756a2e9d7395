"""Completion stamps: every benchmark task appends its finish time to a file, engine-neutrally.

A worker learns the file from ``TASKBRIDGE_BENCH_STAMPS``. Each stamp is one 8-byte write to a
file opened with ``O_APPEND``, which Linux keeps atomic across processes and threads, so the
harness counts completions (file size / 8) and reads their times without touching any engine's
own bookkeeping, and both sides pay the same few microseconds for it.
"""

from __future__ import annotations

import os
import struct
import time

ENV = "TASKBRIDGE_BENCH_STAMPS"
_STAMP = struct.Struct("<d")
_fds: dict[tuple[int, str], int] = {}


def record() -> None:
    """Append now's time to the stamp file, when this worker was given one."""
    path = os.environ.get(ENV)
    if not path:
        return
    # Keyed by pid: a forked child (Celery prefork, RQ work horse) opens its own descriptor.
    key = (os.getpid(), path)
    fd = _fds.get(key)
    if fd is None:
        fd = _fds[key] = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, _STAMP.pack(time.time()))


def count(path: str) -> int:
    """How many stamps the file holds."""
    try:
        return os.path.getsize(path) // _STAMP.size
    except FileNotFoundError:
        return 0


def read(path: str) -> list[float]:
    """Every stamp, sorted."""
    with open(path, "rb") as handle:
        data = handle.read()
    usable = len(data) - len(data) % _STAMP.size
    return sorted(value for (value,) in _STAMP.iter_unpack(data[:usable]))
