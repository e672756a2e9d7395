"""Worker children that die with their worker: Linux's parent-death signal, set in each child."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys

logger = logging.getLogger("taskbridge.worker")

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent(parent: int) -> None:
    """In a process a worker started, have the kernel SIGKILL it when ``parent`` dies.

    Call it first thing in the child, with the pid of the process that started it (read
    before the fork: ``os.getpid()`` in the parent). If that process already died (it was
    killed between the fork and this call, so the kernel has nothing left to watch), the
    child exits at once. A no-op off Linux.

    SIGKILL rather than SIGTERM: an engine's child treats SIGTERM as its own shutdown request
    (Huey's process workers ignore it while idle and keep consuming; RQ's finishes its job,
    unsupervised, with no timeout monitor), so an orphan could live on. A task the child was
    running stops heartbeating, and crash recovery retries or fails it, as for every task
    of a worker that was killed.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            logger.warning("could not tie process %d to its worker %d: prctl failed (%s)",
                           os.getpid(), parent, os.strerror(ctypes.get_errno()))
            return
    except (OSError, AttributeError):  # no libc with prctl (an unusual C library)
        return
    if os.getppid() != parent:  # it died before prctl took effect: now nobody would kill us
        os._exit(1)
