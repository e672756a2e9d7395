"""The plugin interface: everything a backend, a store or a framework adapter may use.

Plugins import only :mod:`taskbridge` (the public API) and this module; every other module of
the core is private and may change. The layering is checked by import-linter contracts.
"""

import importlib
from typing import TYPE_CHECKING, Any

from taskbridge import _transitions as transitions
from taskbridge._backend import Backend, BackendFactory, Capabilities, WorkerOptions
from taskbridge._bridge import set_default_factory
from taskbridge._config import DEFAULT_URL, BackendURL, check_queue, redact
from taskbridge._deferred import AfterCommit, resend_unsent
from taskbridge._envelope import ENVELOPE_DEPTH, Envelope
from taskbridge._execution import execute, reject, worker_name
from taskbridge._forks import reset_in_forked_child
from taskbridge._json import check_arguments
from taskbridge._json import deeper_than as json_deeper_than
from taskbridge._json import dumps as dumps_json
from taskbridge._json import loads as loads_json
from taskbridge._json import loads_outline as loads_json_outline
from taskbridge._outage import ride_out
from taskbridge._outcomes import AttemptFailed
from taskbridge._parent import die_with_parent
from taskbridge._plugins import (
    engine_factory,
    installed_engines,
    installed_stores,
    open_store,
    store_scheme,
)
from taskbridge._record import (
    ATTEMPT_HISTORY_SIZE,
    PROGRESS_LOG_SIZE,
    Attempt,
    ErrorInfo,
    ProgressEntry,
    Record,
    record_for,
)
from taskbridge._registry import all_tasks as registered_tasks
from taskbridge._schedules.calls import tick_arguments
from taskbridge._status import FINAL, TRANSITIONS, WAITING, Status
from taskbridge._stores.base import DeferredPublish, RecordFilter, StateStore, StoreFactory
from taskbridge._stores.memory import MemoryStore
from taskbridge._stores.sql import (
    sql_count_by_status,
    sql_insert_record,
    sql_update_record,
    sql_where,
)
from taskbridge._stores.sqlite import SQLiteStore, Statement
from taskbridge._stores.transactional import Transaction, TransactionalStore
from taskbridge._unavailable import driver_errors, translated
from taskbridge._worker import Worker, current_worker, restored_signals, serving

if TYPE_CHECKING:
    from taskbridge._dashboard.http import Handler as DashboardHandler
    from taskbridge._dashboard.messages import Request as DashboardRequest
    from taskbridge._dashboard.messages import Response as DashboardResponse
    from taskbridge._dashboard.messages import problem_response
    from taskbridge._dashboard.operations import Executions as ExecutionOperations
    from taskbridge._dashboard.problems import Problem as HTTPProblem
    from taskbridge._dashboard.schedules import Schedules as ScheduleOperations
    from taskbridge._dashboard.schedules import parse as parse_schedule
    from taskbridge._dashboard.security import same_origin_json, token_csrf
    from taskbridge._stores.redis import ALLOWED_COMMANDS, Commands, RedisStore
    from taskbridge.cli import commands as cli_commands
    from taskbridge.cli import run_command

__all__ = [
    "ALLOWED_COMMANDS",
    "ATTEMPT_HISTORY_SIZE",
    "AfterCommit",
    "Attempt",
    "AttemptFailed",
    "Backend",
    "BackendFactory",
    "BackendURL",
    "Capabilities",
    "Commands",
    "DEFAULT_URL",
    "DashboardHandler",
    "DashboardRequest",
    "DashboardResponse",
    "DeferredPublish",
    "ENVELOPE_DEPTH",
    "Envelope",
    "ErrorInfo",
    "ExecutionOperations",
    "FINAL",
    "HTTPProblem",
    "MemoryStore",
    "PROGRESS_LOG_SIZE",
    "ProgressEntry",
    "Record",
    "RecordFilter",
    "RedisStore",
    "SQLiteStore",
    "ScheduleOperations",
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
    "check_arguments",
    "check_queue",
    "cli_commands",
    "current_worker",
    "die_with_parent",
    "driver_errors",
    "dumps_json",
    "engine_factory",
    "execute",
    "installed_engines",
    "installed_stores",
    "json_deeper_than",
    "loads_json",
    "loads_json_outline",
    "open_store",
    "parse_schedule",
    "problem_response",
    "record_for",
    "redact",
    "registered_tasks",
    "reject",
    "resend_unsent",
    "reset_in_forked_child",
    "restored_signals",
    "ride_out",
    "run_command",
    "same_origin_json",
    "serving",
    "set_default_factory",
    "sql_count_by_status",
    "sql_insert_record",
    "sql_update_record",
    "sql_where",
    "store_scheme",
    "tick_arguments",
    "token_csrf",
    "transitions",
    "translated",
    "worker_name",
]

#: Names loaded on first use, so that importing this module does not import redis, the
#: command line or the dashboard: ``name: (module, attribute)``.
_LAZY = {
    "ALLOWED_COMMANDS": ("taskbridge._stores.redis", "ALLOWED_COMMANDS"),
    "Commands": ("taskbridge._stores.redis", "Commands"),
    "RedisStore": ("taskbridge._stores.redis", "RedisStore"),
    # For framework adapters: the command line under their own command, the dashboard mounted
    # in their URL space, JSON problem responses.
    "run_command": ("taskbridge.cli", "run_command"),
    "cli_commands": ("taskbridge.cli", "commands"),
    "DashboardHandler": ("taskbridge._dashboard.http", "Handler"),
    "DashboardRequest": ("taskbridge._dashboard.messages", "Request"),
    "DashboardResponse": ("taskbridge._dashboard.messages", "Response"),
    "HTTPProblem": ("taskbridge._dashboard.problems", "Problem"),
    "problem_response": ("taskbridge._dashboard.messages", "problem_response"),
    "same_origin_json": ("taskbridge._dashboard.security", "same_origin_json"),
    "token_csrf": ("taskbridge._dashboard.security", "token_csrf"),
    # The operations behind the dashboard, for an adapter's own pages (the Django admin's
    # retry, cancel and schedule forms): the same checks and wording everywhere.
    "ExecutionOperations": ("taskbridge._dashboard.operations", "Executions"),
    "ScheduleOperations": ("taskbridge._dashboard.schedules", "Schedules"),
    "parse_schedule": ("taskbridge._dashboard.schedules", "parse"),
}


def __getattr__(name: str) -> Any:
    found = _LAZY.get(name)
    if found is None:
        raise AttributeError(f"module 'taskbridge.plugin' has no attribute {name!r}")
    module, attribute = found
    return getattr(importlib.import_module(module), attribute)
