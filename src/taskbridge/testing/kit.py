"""The in-memory test kit behind the ``taskbridge_memory`` fixture: inspect, run, assert."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from taskbridge._hooks import hookimpl
from taskbridge._plugins import plugin_manager
from taskbridge._result import Result
from taskbridge._status import FINAL, WAITING, Status
from taskbridge._stores.base import RecordFilter

if TYPE_CHECKING:
    from taskbridge._bridge import Bridge
    from taskbridge._memory import MemoryBackend
    from taskbridge._task import Task

_ALL = 1_000_000


def _task_name(task: Task[Any, Any] | str) -> str:
    return task if isinstance(task, str) else task.name


def _plain(value: Any) -> Any:
    """Arguments as they are stored: tuples arrive as lists."""
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _describe(result: Result) -> str:
    parts = [repr(a) for a in result.args] + [f"{k}={v!r}" for k, v in result.kwargs.items()]
    return (
        f"{result.task_name}({', '.join(parts)}) on {result.queue!r} "
        f"[{result.status.value}, priority {result.priority}]"
    )


class _Pin:
    """A plugin answering ``taskbridge_current_bridge`` before every other one."""

    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge

    @hookimpl(tryfirst=True)
    def taskbridge_current_bridge(self) -> Bridge:
        return self.bridge


@contextlib.contextmanager
def pinned(bridge: Bridge) -> Iterator[Bridge]:
    """Make ``bridge`` what ``get_bridge()`` returns everywhere while the block runs, whatever
    other plugins (a framework adapter's current application) say."""
    pin = _Pin(bridge)
    plugin_manager().register(pin)
    try:
        yield bridge
    finally:
        plugin_manager().unregister(pin)


class MemoryKit:
    """A fresh ``memory://`` bridge and what a test needs to look at it.

    Every list is read fresh from the store, in enqueue order (oldest first).
    """

    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge

    def __repr__(self) -> str:
        return f"<MemoryKit {len(self.jobs)} job(s), {len(self.pending_jobs)} pending>"

    @property
    def backend(self) -> MemoryBackend:
        return self.bridge.backend  # type: ignore[return-value]

    def _results(self, statuses: frozenset[Status] | None = None) -> list[Result]:
        records = self.bridge.store.list(RecordFilter(status=statuses), limit=_ALL)
        # The store lists newest first; tests read more naturally in enqueue order.
        return [Result(self.bridge, r) for r in reversed(records)]

    @property
    def jobs(self) -> dict[str, Result]:
        """Every execution since the test started (or ``reset()``), by id."""
        return {result.id: result for result in self._results()}

    @property
    def pending_jobs(self) -> list[Result]:
        """Executions waiting to run: PENDING, or RETRYING until their next attempt."""
        return self._results(WAITING)

    @property
    def finished_jobs(self) -> list[Result]:
        """Executions in a final state: SUCCEEDED, FAILED or CANCELED."""
        return self._results(FINAL)

    @property
    def succeeded_jobs(self) -> list[Result]:
        return self._results(frozenset({Status.SUCCEEDED}))

    @property
    def failed_jobs(self) -> list[Result]:
        return self._results(frozenset({Status.FAILED}))

    def run_pending(self) -> int:
        """Run everything waiting, retries and chain steps included, without waiting out
        delays; returns how many attempts ran. From async code (a pytest-asyncio test) it
        works too, blocking the event loop while the tasks run: prefer ``arun_pending``."""
        return self.backend.run_pending(self.bridge, ignore_delays=True)

    async def arun_pending(self) -> int:
        """``run_pending`` for async tests: ``await taskbridge_memory.arun_pending()``. The
        tasks run in a worker thread (async ones on an event loop of their own), so the
        test's event loop keeps running meanwhile."""
        return await asyncio.to_thread(self.run_pending)

    def reset(self) -> None:
        """Forget every job and every waiting message."""
        self.backend.clear()

    # -- assertions ------------------------------------------------------------------------

    def enqueued(
        self,
        task: Task[Any, Any] | str,
        *,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        queue: str | None = None,
    ) -> builtins.list[Result]:
        """The executions of ``task`` enqueued so far that match the given call details."""
        name = _task_name(task)
        return [
            result
            for result in self._results()
            if result.task_name == name
            and (args is None or result.args == _plain(args))
            and (kwargs is None or result.kwargs == _plain(kwargs))
            and (queue is None or result.queue == queue)
        ]

    def assert_enqueued(
        self,
        task: Task[Any, Any] | str,
        *,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        queue: str | None = None,
        count: int | None = None,
    ) -> builtins.list[Result]:
        """Assert ``task`` was enqueued (exactly ``count`` times, if given) with these details;
        returns the matching executions. The failure message lists everything enqueued."""
        __tracebackhide__ = True
        found = self.enqueued(task, args=args, kwargs=kwargs, queue=queue)
        if (count is None and found) or (count is not None and len(found) == count):
            return found
        wanted = "at least once" if count is None else f"exactly {count} time(s)"
        raise AssertionError(
            f"expected {_task_name(task)} to be enqueued {wanted}"
            f"{self._criteria(args, kwargs, queue)}, but it was enqueued "
            f"{len(found)} time(s) that way.\n{self._listing()}"
        )

    def assert_not_enqueued(
        self,
        task: Task[Any, Any] | str,
        *,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        queue: str | None = None,
    ) -> None:
        """Assert ``task`` was not enqueued (with these details, if given)."""
        __tracebackhide__ = True
        found = self.enqueued(task, args=args, kwargs=kwargs, queue=queue)
        if found:
            raise AssertionError(
                f"expected {_task_name(task)} not to be enqueued"
                f"{self._criteria(args, kwargs, queue)}, but it was enqueued "
                f"{len(found)} time(s).\n{self._listing()}"
            )

    @staticmethod
    def _criteria(
        args: Sequence[Any] | None, kwargs: Mapping[str, Any] | None, queue: str | None
    ) -> str:
        given = {"args": args, "kwargs": kwargs, "queue": queue}
        parts = [f"{key}={_plain(value)!r}" for key, value in given.items() if value is not None]
        return f" with {', '.join(parts)}" if parts else ""

    def _listing(self) -> str:
        results = self._results()
        if not results:
            return "Nothing was enqueued."
        lines = "\n".join(f"  - {_describe(r)}" for r in results)
        return f"Enqueued ({len(results)}):\n{lines}"
