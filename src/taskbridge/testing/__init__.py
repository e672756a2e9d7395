"""The testing kit: real worker processes, Redis namespace clean-up, a hook recorder, the pytest
plugin, the conformance suite and test-server helpers.

Importing this package imports nothing else (the pytest plugin loads it on every pytest run);
each name below is loaded from its module on first use.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from taskbridge.testing.cleanup import delete_namespace
    from taskbridge.testing.plugins import conformance_urls
    from taskbridge.testing.polling import wait_for
    from taskbridge.testing.recorder import HookRecorder, read_hook_log, recording_hooks
    from taskbridge.testing.redis_server import test_redis_url, unique_prefix
    from taskbridge.testing.workers import WorkerProcess, Workers

__all__ = [
    "HookRecorder",
    "WorkerProcess",
    "Workers",
    "conformance_urls",
    "delete_namespace",
    "read_hook_log",
    "recording_hooks",
    "test_redis_url",
    "unique_prefix",
    "wait_for",
]

_MODULES = {
    "HookRecorder": "recorder",
    "WorkerProcess": "workers",
    "Workers": "workers",
    "conformance_urls": "plugins",
    "delete_namespace": "cleanup",
    "read_hook_log": "recorder",
    "recording_hooks": "recorder",
    "test_redis_url": "redis_server",
    "unique_prefix": "redis_server",
    "wait_for": "polling",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'taskbridge.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(f"taskbridge.testing.{module}"), name)
