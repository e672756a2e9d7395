"""Plugin discovery: the pluggy manager, the ``taskbridge`` entry-point group, engine lookup."""

from __future__ import annotations

import functools
import logging
from typing import Any

import pluggy

from taskbridge import _hooks as hookspecs
from taskbridge._backend import Backend, BackendFactory
from taskbridge._config import BackendURL, redact
from taskbridge._errors import BackendNotFound, ConfigurationError
from taskbridge._stores import factories as store_factories
from taskbridge._stores.base import StateStore, StoreFactory

logger = logging.getLogger("taskbridge")

#: Engines we ship plugins for, and the distribution that provides each.
KNOWN_DISTRIBUTIONS = {
    "huey": "taskbridge-huey",
    "rq": "taskbridge-rq",
    "celery": "taskbridge-celery",
}


class LoggingPlugin:
    """Logs every lifecycle event, with the task id, on the ``taskbridge`` logger."""

    @hookspecs.hookimpl
    def taskbridge_enqueued(self, record: Any) -> None:
        logger.info("enqueued %s [%s] on %s", record.task_name, record.id, record.queue)

    @hookspecs.hookimpl
    def taskbridge_started(self, record: Any) -> None:
        logger.info("started %s [%s] attempt %d", record.task_name, record.id, record.attempts)

    @hookspecs.hookimpl
    def taskbridge_succeeded(self, record: Any) -> None:
        logger.info("succeeded %s [%s]", record.task_name, record.id)

    @hookspecs.hookimpl
    def taskbridge_failed(self, record: Any) -> None:
        error = record.error
        logger.warning(
            "failed %s [%s]: %s", record.task_name, record.id,
            f"{error.type}: {error.message}" if error else "unknown error",
        )

    @hookspecs.hookimpl
    def taskbridge_retrying(self, record: Any) -> None:
        logger.info(
            "retrying %s [%s] after attempt %d", record.task_name, record.id, record.attempts
        )

    @hookspecs.hookimpl
    def taskbridge_canceled(self, record: Any) -> None:
        logger.info("canceled %s [%s]", record.task_name, record.id)


@functools.cache
def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, with every installed plugin loaded (once)."""
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    manager.register(LoggingPlugin(), name="taskbridge.logging")
    manager.register(store_factories, name="taskbridge.stores")
    manager.load_setuptools_entrypoints(hookspecs.PROJECT)
    return manager


def installed_engines() -> dict[str, BackendFactory]:
    """Every engine name the installed plugins provide."""
    engines: dict[str, BackendFactory] = {}
    for answer in plugin_manager().hook.taskbridge_backends():
        engines.update(answer or {})
    return engines


def create_backend(url: BackendURL) -> Backend:
    """Build the backend for ``url`` from whichever plugin registered its engine."""
    engines = installed_engines()
    factory = engines.get(url.engine)
    if factory is None:
        hint = KNOWN_DISTRIBUTIONS.get(url.engine)
        install = (
            f"pip install {hint}" if hint
            else f"install the plugin that registers {url.engine!r} in the 'taskbridge' "
            "entry-point group"
        )
        raise BackendNotFound(
            f"no installed plugin provides engine {url.engine!r} (from {url.redacted()!r}); "
            f"installed engines: {', '.join(sorted(engines)) or 'none'}; {install}"
        )
    return factory(url)


def installed_stores() -> dict[str, StoreFactory]:
    """Every store URL scheme the core and the installed plugins provide."""
    stores: dict[str, StoreFactory] = {}
    for answer in plugin_manager().hook.taskbridge_stores():
        stores.update(answer or {})
    return stores


def open_store(url: str) -> StateStore:
    """Open the store a URL names: ``memory://``, ``redis://host:6379/0?namespace=app``
    (``rediss://``), ``sqlite:///relative.db``, ``sqlite:////absolute.db``, or any scheme an
    installed plugin registers with ``taskbridge_stores``."""
    scheme = url.split("://", 1)[0] if isinstance(url, str) and "://" in url else None
    stores = installed_stores()
    factory = stores.get(scheme) if scheme else None
    if factory is None:
        shown = redact(url) if isinstance(url, str) else url
        problem = f"scheme {scheme!r} is not a store" if scheme else "is not SCHEME://..."
        raise ConfigurationError(
            f"store URL {shown!r}: {problem}; installed stores: {', '.join(sorted(stores))}"
            " (a plugin adds others through the taskbridge_stores hook)"
        )
    return factory(url)
