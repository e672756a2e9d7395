"""The plugin interface: everything a backend, a store or a framework adapter may use.

Plugins import only :mod:`taskbridge` (the public API) and this module; every other module of
the core is private and may change. The layering is checked by import-linter contracts.
"""

import importlib
from typing import TYPE_CHECKING, Any

from taskbridge import _transitions as transitions
from taskbridge._backend import Backend, BackendFactory, Capabilities, WorkerOptions
from taskbridge._bridge import record_for
from taskbridge._config import DEFAULT_URL, BackendURL, check_queue, redact
from taskbridge._envelope import ENVELOPE_DEPTH, Envelope
from taskbridge._execution import execute, reject, worker_name
from taskbridge._json import deeper_than as json_deeper_than
from taskbridge._json import dumps as dumps_json
from taskbridge._json import loads as loads_json
from taskbridge._json import loads_outline as loads_json_outline
from taskbridge._outage import ride_out
from taskbridge._outcomes import AttemptFailed
from taskbridge._plugins import engine_factory, installed_engines, installed_stores, open_store
from taskbridge._record import ErrorInfo, Record
from taskbridge._registry import all_tasks as registered_tasks
from taskbridge._status import FINAL, TRANSITIONS, WAITING, Status
from taskbridge._stores.base import RecordFilter, StateStore, StoreFactory
from taskbridge._stores.memory import MemoryStore
from taskbridge._stores.sqlite import SQLiteStore, Statement
from taskbridge._stores.transactional import Transaction, TransactionalStore
from taskbridge._worker import Worker, current_worker, restored_signals, serving

if TYPE_CHECKING:
    from taskbridge._stores.redis import ALLOWED_COMMANDS, Commands, RedisStore

__all__ = [
    "ALLOWED_COMMANDS",
    "AttemptFailed",
    "Backend",
    "BackendFactory",
    "BackendURL",
    "Capabilities",
    "Commands",
    "DEFAULT_URL",
    "ENVELOPE_DEPTH",
    "Envelope",
    "ErrorInfo",
    "FINAL",
    "MemoryStore",
    "Record",
    "RecordFilter",
    "RedisStore",
    "SQLiteStore",
    "StateStore",
    "Statement",
    "Status",
    "StoreFactory",
    "TRANSITIONS",
    "Transaction",
    "TransactionalStore",
    "WAITING",
    "Worker",
    "WorkerOptions",
    "check_queue",
    "current_worker",
    "dumps_json",
    "engine_factory",
    "execute",
    "installed_engines",
    "installed_stores",
    "json_deeper_than",
    "loads_json",
    "loads_json_outline",
    "open_store",
    "record_for",
    "redact",
    "registered_tasks",
    "reject",
    "restored_signals",
    "ride_out",
    "serving",
    "transitions",
    "worker_name",
]

#: Names loaded on first use, so that importing this module does not import redis.
_LAZY = {
    "ALLOWED_COMMANDS": "taskbridge._stores.redis",
    "Commands": "taskbridge._stores.redis",
    "RedisStore": "taskbridge._stores.redis",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'taskbridge.plugin' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
