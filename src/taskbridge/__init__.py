"""taskbridge: one task, schedule and result API over Celery, RQ and Huey."""

from taskbridge._backend import Backend, Capabilities, WorkerOptions
from taskbridge._bridge import Bridge, configure, get_bridge
from taskbridge._chains import Chain, Signature, chain
from taskbridge._config import Settings
from taskbridge._envelope import Envelope
from taskbridge._errors import (
    ArgumentsNotSerializable,
    BackendNotFound,
    ConfigurationError,
    DuplicateTaskName,
    EnqueueError,
    InvalidTaskOptions,
    InvalidTransition,
    ResultNotFound,
    Retry,
    ScheduleNotFound,
    StoreUnavailable,
    TaskBridgeError,
    TaskCanceled,
    TaskFailed,
    TaskNotRegistered,
    TaskTimeout,
    UnsupportedFeature,
    WorkerLost,
)
from taskbridge._hooks import hookimpl
from taskbridge._record import Attempt, ErrorInfo, ProgressEntry, Record
from taskbridge._result import Result
from taskbridge._retry import RetryPolicy
from taskbridge._schedules.registry import periodic
from taskbridge._schedules.values import At, Cron, Every, Solar
from taskbridge._status import Status
from taskbridge._stores.base import RecordFilter, StateStore
from taskbridge._task import Task, TaskContext, task

__version__ = "0.1.0"

__all__ = [
    "ArgumentsNotSerializable",
    "At",
    "Attempt",
    "Backend",
    "BackendNotFound",
    "Bridge",
    "Capabilities",
    "Chain",
    "ConfigurationError",
    "Cron",
    "DuplicateTaskName",
    "EnqueueError",
    "Envelope",
    "ErrorInfo",
    "Every",
    "InvalidTaskOptions",
    "InvalidTransition",
    "ProgressEntry",
    "Record",
    "RecordFilter",
    "Result",
    "ResultNotFound",
    "Retry",
    "RetryPolicy",
    "ScheduleNotFound",
    "Settings",
    "Signature",
    "Solar",
    "StateStore",
    "Status",
    "StoreUnavailable",
    "Task",
    "TaskBridgeError",
    "TaskCanceled",
    "TaskContext",
    "TaskFailed",
    "TaskNotRegistered",
    "TaskTimeout",
    "UnsupportedFeature",
    "WorkerLost",
    "WorkerOptions",
    "__version__",
    "chain",
    "configure",
    "get_bridge",
    "hookimpl",
    "periodic",
    "task",
]

# Public objects report themselves as ``taskbridge.Name`` (in reprs, tracebacks and the error
# types stored with failed executions), not by the private module that defines them.
for _name in __all__:
    if isinstance(globals()[_name], type) or callable(getattr(globals()[_name], "__code__", None)):
        globals()[_name].__module__ = "taskbridge"
del _name

