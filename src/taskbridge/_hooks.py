"""The pluggy hooks a taskbridge plugin may implement."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from taskbridge._backend import BackendFactory
    from taskbridge._bridge import Bridge
    from taskbridge._envelope import Envelope
    from taskbridge._record import Record
    from taskbridge._stores.base import StoreFactory

PROJECT = "taskbridge"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def taskbridge_backends() -> dict[str, BackendFactory | str]:  # type: ignore[empty-body]
    """Return engine names mapped to backend classes, or to ``"module:Class"`` paths of them
    (imported only when a URL names the engine)."""


@hookspec
def taskbridge_stores() -> dict[str, StoreFactory]:  # type: ignore[empty-body]
    """Return store URL schemes mapped to store factories (callables taking the whole URL),
    which ``open_store`` and ``?store=`` accept: ``{"postgresql": PostgreSQLStore.from_url}``."""


@hookspec(firstresult=True)
def taskbridge_current_bridge() -> Bridge | None:
    """Return the bridge ``get_bridge()`` (and so every task's ``enqueue()``) uses in the
    current context, e.g. the current web application's, or ``None`` to leave the choice to
    other plugins and then to the process default. The first answer wins."""


@hookspec
def taskbridge_attempt_context(
    bridge: Bridge, envelope: Envelope
) -> AbstractContextManager[object] | None:
    """Return a context manager each attempt of a task runs inside (an application context,
    a tracing span, a database session's scope), or ``None``. Entered on the worker right
    before the task's function is called and exited right after it returns or raises; an
    error on entering counts as the attempt's failure."""


@hookspec
def taskbridge_enqueued(record: Record) -> None:
    """A new execution was stored and sent (not called for deduplicated enqueues)."""


@hookspec
def taskbridge_started(record: Record) -> None:
    """An attempt started running on a worker."""


@hookspec
def taskbridge_succeeded(record: Record) -> None:
    """An execution ended SUCCEEDED."""


@hookspec
def taskbridge_failed(record: Record) -> None:
    """An execution ended FAILED (its last attempt failed, or its worker was lost)."""


@hookspec
def taskbridge_retrying(record: Record) -> None:
    """An attempt failed and another is scheduled at ``record.run_at``."""


@hookspec
def taskbridge_canceled(record: Record) -> None:
    """An execution ended CANCELED."""
