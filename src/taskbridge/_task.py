"""Tasks: the ``@task`` decorator, enqueue options and the task's context."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import inspect
import threading
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import (
    TYPE_CHECKING,
    Any,
    Concatenate,
    Generic,
    Literal,
    ParamSpec,
    TypeVar,
    overload,
)

import attrs

from taskbridge import _registry
from taskbridge._chains import Signature
from taskbridge._errors import InvalidTaskOptions, TaskCanceled
from taskbridge._retry import NO_RETRY, RetryPolicy

if TYPE_CHECKING:
    from taskbridge._bridge import Bridge
    from taskbridge._result import Result

P = ParamSpec("P")
R = TypeVar("R")

PRIORITY_MIN, PRIORITY_MAX = -100, 100


def check_priority(value: object) -> int:
    if type(value) is not int or not PRIORITY_MIN <= value <= PRIORITY_MAX:
        raise InvalidTaskOptions(
            f"priority must be an int from {PRIORITY_MIN} to {PRIORITY_MAX} "
            f"(higher runs first), got {value!r}"
        )
    return value


def check_timeout(value: object) -> float | None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int | float) or not value > 0
    ):
        raise InvalidTaskOptions(f"timeout must be a positive number of seconds, got {value!r}")
    return None if value is None else float(value)


@attrs.frozen
class Options:
    """Per-enqueue options set through ``Task.using``; ``None`` means the task's default."""

    queue: str | None = None
    priority: int | None = None
    delay: float | None = None
    run_at: dt.datetime | None = None
    idempotency_key: str | None = None
    timeout: float | None = None
    bridge: Bridge | None = None

    def merged(self, **changes: Any) -> Options:
        unknown = set(changes) - {f.name for f in attrs.fields(Options)}
        if unknown:
            raise InvalidTaskOptions(
                f"unknown option(s) {', '.join(sorted(unknown))}; using() takes queue, "
                "priority, delay, run_at, idempotency_key, timeout and bridge"
            )
        if changes.get("priority") is not None:
            check_priority(changes["priority"])
        check_timeout(changes.get("timeout"))
        delay, run_at = changes.get("delay"), changes.get("run_at")
        if delay is not None and run_at is not None:
            raise InvalidTaskOptions("pass delay= or run_at=, not both")
        if delay is not None and (
            isinstance(delay, bool) or not isinstance(delay, int | float) or not delay >= 0
        ):
            raise InvalidTaskOptions(f"delay must be a number of seconds >= 0, got {delay!r}")
        if run_at is not None and (
            not isinstance(run_at, dt.datetime) or run_at.utcoffset() is None
        ):
            raise InvalidTaskOptions(
                f"run_at must be a timezone-aware datetime, got {run_at!r}; "
                "use datetime.now(timezone.utc) + timedelta(...)"
            )
        if delay is not None:
            changes["run_at"] = None
        if run_at is not None:
            changes["delay"] = None
        return attrs.evolve(self, **changes)


class TaskContext:
    """What a task declared with ``context=True`` receives as its first argument."""

    def __init__(
        self,
        id: str,
        task_name: str,
        attempt: int,
        max_attempts: int,
        report_progress: Callable[[float, str], None],
    ) -> None:
        self.id = id
        self.task_name = task_name
        self.attempt = attempt
        self.max_attempts = max_attempts
        self._report_progress = report_progress
        self._canceled = threading.Event()

    @property
    def canceled(self) -> bool:
        """True once someone called ``cancel()`` on this execution; stop soon if you can."""
        return self._canceled.is_set()

    def raise_if_canceled(self) -> None:
        """Raise :class:`TaskCanceled` if a cancel was requested: the execution then ends
        CANCELED rather than FAILED or SUCCEEDED."""
        if self.canceled:
            raise TaskCanceled()

    def set_progress(self, percent: float, message: str = "") -> None:
        """Report progress, visible in ``result.progress`` from every process."""
        if isinstance(percent, bool) or not isinstance(percent, int | float):
            raise InvalidTaskOptions(f"progress percent must be a number, got {percent!r}")
        if not 0 <= percent <= 100:
            raise InvalidTaskOptions(f"progress percent must be 0-100, got {percent!r}")
        self._report_progress(float(percent), str(message))

    @property
    def cancelled(self) -> bool:
        """Deprecated spelling of :attr:`canceled`."""
        _deprecated("context.cancelled", "context.canceled")
        return self.canceled

    def raise_if_cancelled(self) -> None:
        """Deprecated spelling of :meth:`raise_if_canceled`."""
        _deprecated("context.raise_if_cancelled()", "context.raise_if_canceled()")
        self.raise_if_canceled()


def _deprecated(old: str, new: str) -> None:
    # stacklevel 3: the warning points at the task's code, not at this helper or the alias.
    warnings.warn(f"{old} is deprecated; use {new} (one spelling, 'canceled', everywhere)",
                  DeprecationWarning, stacklevel=3)


@attrs.frozen(eq=False)
class Task(Generic[P, R]):
    """A registered background task. Call it to run inline; ``enqueue`` to run on a worker."""

    func: Callable[..., Any]
    name: str
    queue: str | None = None
    priority: int = 0
    retry: RetryPolicy = NO_RETRY
    timeout: float | None = None
    idempotency_key: Callable[..., str] | None = None
    context: bool = False
    options: Options = Options()

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run the function inline, unchanged."""
        return self.func(*args, **kwargs)  # type: ignore[no-any-return]

    def call(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run the function inline, explicitly."""
        return self.func(*args, **kwargs)  # type: ignore[no-any-return]

    @property
    def __name__(self) -> str:
        return self.func.__name__

    @property
    def __doc__(self) -> str | None:  # type: ignore[override]
        return self.func.__doc__

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.func)

    def using(self, **options: Any) -> Task[P, R]:
        """A copy of this task with enqueue options: queue, priority, delay, run_at,
        idempotency_key, timeout, bridge."""
        return attrs.evolve(self, options=self.options.merged(**options))

    @property
    def bridge(self) -> Bridge:
        from taskbridge._bridge import get_bridge

        return self.options.bridge or get_bridge()

    def enqueue(self, *args: P.args, **kwargs: P.kwargs) -> Result:
        """Send the task to a worker; returns its :class:`Result` handle."""
        return self.bridge.enqueue_calls([(self, args, kwargs)])[0]

    async def aenqueue(self, *args: P.args, **kwargs: P.kwargs) -> Result:
        """``enqueue`` for async producers: the I/O runs in a thread, off the event loop."""
        return await asyncio.to_thread(functools.partial(self.enqueue, *args, **kwargs))

    def enqueue_many(
        self, calls: Iterable[Sequence[Any] | tuple[Sequence[Any], dict[str, Any]]]
    ) -> list[Result]:
        """Enqueue many calls at once (one round trip where the backend allows).

        Each item is a sequence of positional arguments, or an ``(args, kwargs)`` pair
        written as ``((...), {...})``.
        """
        prepared = [(self, *_split_call(item)) for item in calls]
        return self.bridge.enqueue_calls(prepared)

    def s(self, *args: Any, **kwargs: Any) -> Signature:
        """A signature: this task with some arguments, for ``chain``."""
        return Signature(self, args, kwargs)

    signature = s


def _split_call(item: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if (
        isinstance(item, tuple)
        and len(item) == 2
        and isinstance(item[0], list | tuple)
        and isinstance(item[1], dict)
    ):
        return tuple(item[0]), dict(item[1])
    if isinstance(item, list | tuple):
        return tuple(item), {}
    raise InvalidTaskOptions(
        f"enqueue_many items are argument tuples or (args, kwargs) pairs, got {item!r}"
    )


@overload
def task(func: Callable[P, R], /) -> Task[P, R]: ...
@overload
def task(
    *,
    context: Literal[True],
    name: str | None = None,
    queue: str | None = None,
    priority: int = 0,
    retry: RetryPolicy | None = None,
    timeout: float | None = None,
    idempotency_key: Callable[..., str] | None = None,
) -> Callable[[Callable[Concatenate[TaskContext, P], R]], Task[P, R]]:
    """With ``context=True`` the task is typed as producers call it: without the context."""
@overload
def task(
    *,
    name: str | None = None,
    queue: str | None = None,
    priority: int = 0,
    retry: RetryPolicy | None = None,
    timeout: float | None = None,
    idempotency_key: Callable[..., str] | None = None,
    context: Literal[False] = False,
) -> Callable[[Callable[P, R]], Task[P, R]]: ...
def task(func: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """Declare a task; works bare (``@task``) and with options (``@task(queue=...)``)."""
    if func is not None:
        return _make_task(func, **options)
    return functools.partial(_make_task, **options)


def _make_task(
    func: Callable[..., Any],
    *,
    name: str | None = None,
    queue: str | None = None,
    priority: int = 0,
    retry: RetryPolicy | None = None,
    timeout: float | None = None,
    idempotency_key: Callable[..., str] | None = None,
    context: bool = False,
) -> Task[Any, Any]:
    from taskbridge._config import check_queue

    if not callable(func):
        raise InvalidTaskOptions(f"@task decorates a function, got {func!r}")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise InvalidTaskOptions(f"task name must be a non-empty str, got {name!r}")
    if queue is not None:
        check_queue(queue)
    check_priority(priority)
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise InvalidTaskOptions(f"retry= takes a RetryPolicy, got {retry!r}")
    check_timeout(timeout)
    if idempotency_key is not None and not callable(idempotency_key):
        raise InvalidTaskOptions(
            "@task(idempotency_key=...) takes a callable of the task's arguments; "
            "for a fixed key use task.using(idempotency_key='...')"
        )
    new: Task[Any, Any] = Task(
        func=func,
        name=name or f"{func.__module__}.{func.__qualname__}",
        queue=queue,
        priority=priority,
        retry=retry or NO_RETRY,
        timeout=float(timeout) if timeout is not None else None,
        idempotency_key=idempotency_key,
        context=context,
    )
    _registry.register(new)
    return new
