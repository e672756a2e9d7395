"""taskbridge for Flask: an extension, tasks in the application context, ``flask taskbridge``,
the dashboard as a blueprint, JSON errors and enqueue-after-commit.

Loaded lazily: taskbridge finds this package's hooks in every process through its entry point,
and only applications that use the extension pay for importing Flask here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from taskbridge_flask._after_commit import AfterCommit, Deferred, after_commit
    from taskbridge_flask._extension import TaskBridge

__all__ = ["AfterCommit", "Deferred", "TaskBridge", "after_commit"]

_LAZY = {
    "AfterCommit": "taskbridge_flask._after_commit",
    "Deferred": "taskbridge_flask._after_commit",
    "after_commit": "taskbridge_flask._after_commit",
    "TaskBridge": "taskbridge_flask._extension",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'taskbridge_flask' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
