"""``settings.TASKBRIDGE``: the core's settings (CONTRACT §1) plus the adapter's own, and the
bridge built from them.

===================== ================================================================
``URL``               the backend URL (else ``$TASKBRIDGE_URL``, else the embedded default)
``STORE``             where records live: ``"django"`` (default: the default database),
                      ``"django:<alias>"``, any store URL, or ``None`` for the engine's own
``IMPORTS``           modules defining tasks, besides every installed app's ``tasks.py``
``ROUTES``            task-name patterns to queues, ``{"reports.*": "slow"}``
``DEFAULT_QUEUE``, ``RESULT_TTL``, ``IDEMPOTENCY_TTL``, ``HEARTBEAT_INTERVAL``: as in the core
``ENQUEUE_ON_COMMIT`` inside ``transaction.atomic()``, enqueue when it commits (default
                      ``True``); a database alias instead of ``True`` names whose transaction
``DASHBOARD_PERMISSION`` who may use the mounted dashboard: ``None`` (staff, the default)
                      or a permission such as ``"taskbridge_django.view_execution"``
===================== ================================================================

Precedence, highest first: ``taskbridge.configure()`` in code, these settings, the
``TASKBRIDGE_*`` environment variables, the defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import attrs

from taskbridge import Bridge, ConfigurationError, Settings
from taskbridge.plugin import BackendURL, set_default_factory

ADAPTER_KEYS = frozenset({"STORE", "ENQUEUE_ON_COMMIT", "DASHBOARD_PERMISSION"})
CORE_KEYS = frozenset(field.name.upper() for field in attrs.fields(Settings))
DEFAULT_STORE = "django"


@attrs.frozen
class DjangoSettings:
    """``settings.TASKBRIDGE`` read and checked."""

    core: Settings
    store: str | None = DEFAULT_STORE
    #: The database alias whose open transaction delays enqueues; ``None`` turns it off.
    enqueue_on_commit: str | None = "default"
    dashboard_permission: str | None = None

    def url(self, url: str | None = None) -> str:
        """``url`` (default: the configured one) with ``?store=`` added unless it names one."""
        return with_store(url or self.core.url, self.store)


def raw_settings() -> Mapping[str, Any]:
    from django.conf import settings

    raw = getattr(settings, "TASKBRIDGE", None) or {}
    if not isinstance(raw, Mapping):
        raise ConfigurationError(
            f"settings.TASKBRIDGE must be a dict, got {type(raw).__name__}; "
            'e.g. TASKBRIDGE = {"URL": "rq+redis://localhost:6379/0"}'
        )
    return raw


def read() -> DjangoSettings:
    """``settings.TASKBRIDGE`` as checked values; ``ConfigurationError`` naming the bad key."""
    from django.db import DEFAULT_DB_ALIAS

    raw = raw_settings()
    unknown = sorted(str(key) for key in raw if key not in CORE_KEYS | ADAPTER_KEYS)
    if unknown:
        raise ConfigurationError(
            f"settings.TASKBRIDGE: unknown key(s) {', '.join(unknown)}; known: "
            f"{', '.join(sorted(CORE_KEYS | ADAPTER_KEYS))}"
        )
    framework = {key.lower(): value for key, value in raw.items() if key in CORE_KEYS}
    try:
        core = Settings.resolve(framework=framework)
    except (ConfigurationError, TypeError) as exc:
        raise ConfigurationError(f"settings.TASKBRIDGE: {exc}") from None
    store = raw.get("STORE", DEFAULT_STORE)
    if store is not None and (not isinstance(store, str) or not store):
        raise ConfigurationError(
            f"settings.TASKBRIDGE['STORE'] must be a store URL such as 'django' or "
            f"'django:<alias>', or None for the engine's own store; got {store!r}"
        )
    on_commit = raw.get("ENQUEUE_ON_COMMIT", True)
    if on_commit is True:
        on_commit = DEFAULT_DB_ALIAS
    elif on_commit is False:
        on_commit = None
    elif not isinstance(on_commit, str):
        raise ConfigurationError(
            "settings.TASKBRIDGE['ENQUEUE_ON_COMMIT'] must be True, False or a database "
            f"alias; got {on_commit!r}"
        )
    permission = raw.get("DASHBOARD_PERMISSION")
    if permission is not None and (not isinstance(permission, str) or permission.count(".") != 1):
        raise ConfigurationError(
            "settings.TASKBRIDGE['DASHBOARD_PERMISSION'] must be 'app_label.codename' (e.g. "
            f"'taskbridge_django.view_execution'), or None for staff; got {permission!r}"
        )
    return DjangoSettings(core, store, on_commit, permission)


def with_store(url: str, store: str | None) -> str:
    """``url`` with ``?store=store`` appended, unless ``store`` is ``None`` or the URL already
    names a store (an explicit choice in the URL wins)."""
    if not store or "store" in BackendURL.parse(url).options:
        return url
    return f"{url}{'&' if '?' in url else '?'}store={quote(store, safe=':/@')}"


def make_bridge(url: str | None = None, imports: list[str] | None = None) -> Bridge:
    """A bridge from ``settings.TASKBRIDGE`` (``url`` and ``imports`` override, as the
    command line's ``--url`` and ``--imports`` do), enqueueing on commit as configured."""
    from taskbridge_django.transactions import enqueue_on_commit

    django_settings = read()
    core = attrs.evolve(
        django_settings.core,
        url=django_settings.url(url),
        imports=(*django_settings.core.imports, *(imports or ())),
    )
    bridge = Bridge(settings=core)
    if django_settings.enqueue_on_commit is not None:
        bridge.defer_enqueue = enqueue_on_commit(bridge, django_settings.enqueue_on_commit)
    return bridge


def install_default_bridge(factory: Callable[[], Bridge] = make_bridge) -> None:
    """Make ``taskbridge.get_bridge()`` (what ``@task`` functions use) build its bridge from
    these settings on first use."""
    set_default_factory(factory)
