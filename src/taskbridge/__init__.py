"""taskbridge: one task, schedule and result API over Celery, RQ and Huey."""

from taskbridge.backend import Backend, Capabilities, WorkerOptions
from taskbridge.bridge import Bridge, configure, get_bridge
from taskbridge.config import Settings
from taskbridge.envelope import Envelope
from taskbridge.errors import (
    ArgumentsNotSerializable,
    BackendNotFound,
    ConfigurationError,
    DuplicateTaskName,
    EnqueueError,
    InvalidTaskOptions,
    ResultNotFound,
    Retry,
    TaskBridgeError,
    TaskCanceled,
    TaskFailed,
    TaskNotRegistered,
    TaskTimeout,
    UnsupportedFeature,
)
from taskbridge.hookspecs import hookimpl
from taskbridge.record import ErrorInfo, Record
from taskbridge.result import Result
from taskbridge.retry import RetryPolicy
from taskbridge.schedules import At, Cron, Every, Solar
from taskbridge.scheduling import periodic
from taskbridge.status import Status
from taskbridge.stores.base import RecordFilter, StateStore
from taskbridge.task import Chain, Signature, Task, TaskContext, chain, task

__version__ = "0.1.0"

__all__ = [
    "ArgumentsNotSerializable",
    "At",
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
    "Record",
    "RecordFilter",
    "Result",
    "ResultNotFound",
    "Retry",
    "RetryPolicy",
    "Settings",
    "Signature",
    "Solar",
    "StateStore",
    "Status",
    "Task",
    "TaskBridgeError",
    "TaskCanceled",
    "TaskContext",
    "TaskFailed",
    "TaskNotRegistered",
    "TaskTimeout",
    "UnsupportedFeature",
    "WorkerOptions",
    "__version__",
    "chain",
    "configure",
    "get_bridge",
    "hookimpl",
    "periodic",
    "task",
]
