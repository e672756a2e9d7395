"""The exceptions taskbridge raises, all rooted at :class:`TaskBridgeError`.

::

    TaskBridgeError
    ├── ConfigurationError            bad URL, unknown engine, bad setting
    │   ├── BackendNotFound           an engine's plugin or library is not installed
    │   └── UnsupportedFeature        the backend declares it cannot do what was asked
    ├── ArgumentsNotSerializable      (also TypeError) a non-JSON argument or result
    ├── InvalidTaskOptions            (also ValueError) bad queue, priority, run_at, ...
    ├── DuplicateTaskName             (also ValueError) two tasks registered under one name
    ├── EnqueueError                  a task could not be sent: the backend could not be
    │                                 reached or refused (``__cause__`` says which and why)
    ├── StoreUnavailable              (also ConnectionError) the store or the engine's server did
    │                                 not answer a read or a change (a driver error, translated)
    ├── TaskNotRegistered             (also LookupError) a task name nobody registered
    ├── ResultNotFound                (also LookupError) an id nobody knows
    ├── ScheduleNotFound              (also LookupError) a schedule name nobody stored
    ├── InvalidTransition             (also RuntimeError) a status change the model forbids: a bug
    ├── TaskFailed                    raised by Result.wait() for a FAILED task
    ├── TaskCanceled                  raised by Result.wait() for a CANCELED task
    ├── TaskTimeout                   an attempt ran past its timeout
    ├── WorkerLost                    the error of an attempt whose worker died
    └── Retry                         raised by a task to ask for another attempt
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from taskbridge._result import ErrorInfo, Result


class TaskBridgeError(Exception):
    """Root of every exception taskbridge raises on purpose."""


class ConfigurationError(TaskBridgeError):
    """The configuration (URL, engine, settings) cannot be used."""


class BackendNotFound(ConfigurationError):
    """An engine's plugin, or the engine library it needs, is not installed."""


class UnsupportedFeature(ConfigurationError):
    """The backend's capability flags say it cannot do what was asked."""


class ArgumentsNotSerializable(TaskBridgeError, TypeError):
    """An argument or a result is not a JSON value."""


class InvalidTaskOptions(TaskBridgeError, ValueError):
    """A task option (queue, priority, delay, run_at, ...) is out of range or of the wrong type."""


class DuplicateTaskName(TaskBridgeError, ValueError):
    """Two different functions were registered under one task name."""


class EnqueueError(TaskBridgeError):
    """The backend could not be reached or refused the task; nothing was written."""


class StoreUnavailable(TaskBridgeError, ConnectionError):
    """The store (or the engine's broker) did not answer: the server is down or restarting, the
    URL points at nothing, the file cannot be read. Raised by every public call that reads or
    changes state (``get_result``, ``Result.refresh/wait/cancel``, ``list``, ``count``,
    ``failed``, ``bridge.schedules``, ...) in place of the driver's own error, which is its
    ``__cause__``. Calls that send a task raise :class:`EnqueueError` instead."""


class TaskNotRegistered(TaskBridgeError, LookupError):
    """No task is registered under the name asked for: the module defining it was not
    imported (a programming or deployment error; trying again will not help)."""


class ResultNotFound(TaskBridgeError, LookupError):
    """No execution record exists for the id (never known, or expired)."""


class ScheduleNotFound(TaskBridgeError, LookupError):
    """No schedule is stored under the name asked for."""


class InvalidTransition(TaskBridgeError, RuntimeError):
    """A store was asked for a status change ``Status`` transitions do not allow (a bug in the
    store or its caller, never a user error)."""


class TaskFailed(TaskBridgeError):
    """The task ended FAILED; ``.result`` is its handle and ``.error`` its :class:`ErrorInfo`."""

    def __init__(self, result: Result, error: ErrorInfo | None) -> None:
        detail = f"{error.type}: {error.message}" if error else "no error recorded"
        super().__init__(f"task {result.task_name} [{result.id}] failed: {detail}")
        self.result = result
        self.error = error


class TaskCanceled(TaskBridgeError):
    """The task ended CANCELED (raised by ``Result.wait``), or, raised inside a task, the task
    stopping because it was asked to (``context.raise_if_canceled()``)."""

    def __init__(self, result: Result | None = None) -> None:
        if result is None:
            super().__init__("the task stopped because it was canceled")
        else:
            super().__init__(f"task {result.task_name} [{result.id}] was canceled")
        self.result = result


class TaskTimeout(TaskBridgeError):
    """An attempt ran longer than the task's ``timeout`` and was stopped."""


class WorkerLost(TaskBridgeError):
    """The worker running an attempt stopped sending heartbeats (killed, out of memory, its
    host gone). Never raised: it is the ``ErrorInfo.type`` crash recovery stores for that
    attempt (``"taskbridge.WorkerLost"``)."""


class Retry(TaskBridgeError):
    """Raised inside a task to ask for another attempt, after ``delay`` seconds."""

    def __init__(self, delay: float | None = None, reason: str = "") -> None:
        super().__init__(reason or f"retry requested (delay={delay})")
        self.delay = delay
        self.reason = reason
