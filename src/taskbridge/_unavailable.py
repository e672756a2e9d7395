"""Driver errors at the public API: the one place where a store's or an engine's failure to
answer (redis, sqlite3, kombu, a socket) becomes :class:`~taskbridge.StoreUnavailable`.

Public calls that read or change state run inside :func:`translated`; calls that send a task
keep raising ``EnqueueError`` (``Bridge._translated``). Only driver errors are translated: a bug
(``TypeError``, ``KeyError``) still surfaces as itself.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar, cast

from taskbridge._errors import StoreUnavailable, TaskBridgeError

if TYPE_CHECKING:
    from taskbridge._bridge import Bridge


#: The root exception of each driver taskbridge's stores and engines use, by module. Looked up
#: only in modules already imported: a driver that was never loaded raised nothing.
DRIVER_ROOTS = (
    ("redis.exceptions", "RedisError"),
    ("kombu.exceptions", "KombuError"),
    ("amqp.exceptions", "AMQPError"),
)


def driver_errors(*parts: object) -> tuple[type[BaseException], ...]:
    """The exception types that mean "a server or a file did not answer": ``OSError``
    (sockets, files), ``sqlite3.Error``, the loaded drivers' roots (:data:`DRIVER_ROOTS`) and
    whatever ``transient_errors`` the given stores and backends declare."""
    found: list[type[BaseException]] = [OSError, sqlite3.Error]
    for module_name, name in DRIVER_ROOTS:
        module = sys.modules.get(module_name)
        root = getattr(module, name, None) if module is not None else None
        if isinstance(root, type) and issubclass(root, BaseException):
            found.append(root)
    for part in parts:
        found.extend(getattr(part, "transient_errors", ()))
    return tuple(dict.fromkeys(found))


def where(bridge: Bridge) -> str:
    """What a bridge talks to, for messages: the store's location and the backend URL."""
    store = bridge.store
    location = getattr(store, "url", "") or getattr(store, "location", "")
    url = bridge.url.redacted()
    return f"{location} ({url})" if location and location.strip("'") not in url else url


@contextlib.contextmanager
def translated(bridge: Bridge, action: str) -> Iterator[None]:
    """Raise :class:`StoreUnavailable` from a driver error raised in the block, saying what
    could not be done, where, and what to check."""
    try:
        yield
    except TaskBridgeError:
        raise
    except driver_errors(bridge.store, bridge.backend) as exc:
        raise StoreUnavailable(
            f"could not {action}: {where(bridge)} did not answer "
            f"({type(exc).__name__}: {exc}); check that the server is running and that the "
            "URL (--url or TASKBRIDGE_URL) points at it"
        ) from exc


F = TypeVar("F", bound=Callable[..., Any])


def translating(action: str) -> Callable[[F], F]:
    """Decorate a method of an object that has a ``bridge`` so that it runs in
    :func:`translated`."""

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def wrapper(self: Any, /, *args: Any, **kwargs: Any) -> Any:
            with translated(self.bridge, action):
                return method(self, *args, **kwargs)

        return cast(F, wrapper)

    return decorate
