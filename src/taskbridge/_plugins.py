"""Plugin discovery: the pluggy manager, the ``taskbridge`` entry-point group, engine lookup."""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import logging
import re
import time
from collections.abc import Mapping
from typing import Any

import pluggy

from taskbridge import _hooks as hookspecs
from taskbridge._backend import Backend, BackendFactory, Capabilities
from taskbridge._config import BackendURL, redact
from taskbridge._errors import BackendNotFound, ConfigurationError
from taskbridge._stores import factories as store_factories
from taskbridge._stores.base import StateStore, StoreFactory

logger = logging.getLogger("taskbridge")

#: URL schemes people write as if they were engines (``redis://``): transports an engine runs on.
TRANSPORTS = frozenset({"redis", "rediss", "sqlite", "amqp", "amqps", "postgres", "postgresql"})


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
        error = record.error
        run_at = record.run_at or time.time()
        logger.info(
            "retrying %s [%s] after attempt %d of %d (%s) in %.1fs, at %s",
            record.task_name, record.id, record.attempts, record.max_attempts,
            f"{error.type}: {error.message}" if error else "no error recorded",
            max(0.0, run_at - time.time()),
            dt.datetime.fromtimestamp(run_at, dt.UTC).isoformat(timespec="seconds"),
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


def installed_engines() -> dict[str, BackendFactory | str]:
    """Every engine name the installed plugins provide, mapped to its factory or to the
    ``"module:attribute"`` path of one (not imported until a URL needs that engine)."""
    engines: dict[str, BackendFactory | str] = {}
    for answer in plugin_manager().hook.taskbridge_backends():
        engines.update(answer or {})
    return engines


def load_factory(engine: str, found: BackendFactory | str) -> BackendFactory:
    """The factory behind an ``installed_engines()`` entry, importing it if it is a path."""
    if not isinstance(found, str):
        return found
    module, _, attribute = found.partition(":")
    try:
        factory: BackendFactory = getattr(importlib.import_module(module), attribute)
    except ImportError as exc:
        raise BackendNotFound(
            f"the {engine!r} engine's plugin is installed but cannot be imported ({exc}); "
            f"reinstall it: pip install --force-reinstall taskbridge-{engine}"
        ) from exc
    return factory


def engine_factory(engine: str, *, url: BackendURL | None = None) -> BackendFactory:
    """The backend class registered for ``engine`` (imported now if it was registered by path);
    ``BackendNotFound`` naming what is installed and what to install."""
    engines = installed_engines()
    found = engines.get(engine)
    if found is None and engine in TRANSPORTS and url is not None:
        rest = url.redacted().split("://", 1)[1]
        choices = ", ".join(f"'{e}+{engine}://{rest}'" for e in sorted(engines) if e != "memory")
        raise BackendNotFound(
            f"{url.redacted()!r} names a transport, not an engine: say which engine runs the "
            f"tasks, e.g. {choices}; installed engines: {', '.join(sorted(engines)) or 'none'}"
        )
    if found is None:
        source = f" (from {url.redacted()!r})" if url is not None else ""
        # By convention the distribution of engine X is taskbridge-X (ours are).
        raise BackendNotFound(
            f"no installed plugin provides engine {engine!r}{source}; "
            f"installed engines: {', '.join(sorted(engines)) or 'none'}; "
            f"pip install taskbridge-{engine}, or install the plugin that registers "
            f"{engine!r} in the 'taskbridge' entry-point group"
        )
    return load_factory(engine, found)


#: URL options the core reads for every engine.
CORE_OPTIONS = frozenset({"namespace", "pool", "store"})


def create_backend(url: BackendURL) -> tuple[Backend, str]:
    """Build the backend for ``url`` and name the worker pool its producers assume.

    Checks the URL's options once for every engine: no unknown option, a known ``pool``; opens
    the store ``?store=`` names, if any, for the backend to use instead of its natural one.
    """
    factory = engine_factory(url.engine, url=url)
    pools: Mapping[str, Capabilities] = factory.pools
    known = CORE_OPTIONS | factory.url_options
    unknown = sorted(set(url.options) - known)
    if unknown:
        raise ConfigurationError(
            f"{url.redacted()}: unknown option(s) {', '.join(unknown)}; the {url.engine} engine "
            f"takes {', '.join(sorted(known))}"
        )
    pool = url.options.get("pool") or next(iter(pools))
    if pool not in pools:
        raise ConfigurationError(
            f"{url.redacted()}: pool={pool!r} is not a {url.engine} worker pool; choose one of "
            f"{', '.join(pools)}"
        )
    store = None
    if "store" in url.options:
        namespace = url.namespace if "namespace" in url.options else None
        store = open_store(url.options["store"], namespace=namespace)
    backend = factory(url, store=store) if store is not None else factory(url)
    return backend, pool


def installed_stores() -> dict[str, StoreFactory]:
    """Every store URL scheme the core and the installed plugins provide."""
    stores: dict[str, StoreFactory] = {}
    for answer in plugin_manager().hook.taskbridge_stores():
        stores.update(answer or {})
    return stores


_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*)(?::|$)")


def store_scheme(url: object) -> str | None:
    """The scheme of a store URL: ``redis`` of ``redis://…``, ``django`` of ``django``,
    ``django:replica`` and ``django://replica``; ``None`` when there is none."""
    found = _SCHEME.match(url) if isinstance(url, str) else None
    return found.group(1) if found else None


def open_store(url: str, *, namespace: str | None = None) -> StateStore:
    """Open the store a URL names: ``memory://``, ``redis://host:6379/0?namespace=app``
    (``rediss://``), ``sqlite:///relative.db``, ``sqlite:////absolute.db``, or any scheme an
    installed plugin registers with ``taskbridge_stores`` (``django``, ``django:replica``)."""
    scheme = store_scheme(url)
    stores = installed_stores()
    factory = stores.get(scheme) if scheme else None
    if factory is None:
        shown = redact(url) if isinstance(url, str) else url
        problem = f"scheme {scheme!r} is not a store" if scheme else "is not SCHEME:..."
        raise ConfigurationError(
            f"store URL {shown!r}: {problem}; installed stores: {', '.join(sorted(stores))}"
            " (a plugin adds others through the taskbridge_stores hook)"
        )
    return factory(url) if namespace is None else factory(url, namespace=namespace)
