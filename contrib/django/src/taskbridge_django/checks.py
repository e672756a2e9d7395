"""System checks (``manage.py check``): a misconfiguration is reported with an id and a hint
when the project starts, not at the first enqueue.

=================== ==================================================================
``taskbridge.E001`` ``settings.TASKBRIDGE`` is malformed (a bad key or value)
``taskbridge.E002`` the URL names an engine no installed plugin provides
``taskbridge.E003`` the store names a database alias ``DATABASES`` lacks, or an unknown scheme
``taskbridge.E004`` a module in ``IMPORTS`` cannot be imported
``taskbridge.E005`` ``ENQUEUE_ON_COMMIT`` names a database alias ``DATABASES`` lacks
``taskbridge.E006`` ``settings.TASKS`` names ``TaskBridgeBackend`` without this app installed
                    (``TaskBridgeBackend.check``, run by Django's task checks)
``taskbridge.W001`` the Django store on SQLite without ``"transaction_mode": "IMMEDIATE"``
=================== ==================================================================
"""

from __future__ import annotations

import importlib
from typing import Any

from django.core import checks

from taskbridge import ConfigurationError
from taskbridge.plugin import BackendURL, installed_engines, installed_stores, store_scheme

SETTING = "settings.TASKBRIDGE"


def register() -> None:
    checks.register(check_settings, "taskbridge")


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from taskbridge_django import conf

    try:
        django_settings = conf.read()
    except ConfigurationError as exc:
        return [checks.Error(str(exc), hint="see the taskbridge-django README for every key",
                             obj=SETTING, id="taskbridge.E001")]
    found: list[checks.CheckMessage] = []
    found += _check_engine(django_settings.core.url)
    found += _check_store(django_settings.store)
    found += _check_imports(django_settings.core.imports)
    found += _check_on_commit(django_settings.enqueue_on_commit)
    return found


def _check_engine(url: str) -> list[checks.CheckMessage]:
    try:
        engine = BackendURL.parse(url).engine
    except ConfigurationError as exc:
        return [checks.Error(str(exc), hint="e.g. 'rq+redis://localhost:6379/0'", obj=SETTING,
                             id="taskbridge.E002")]
    engines = installed_engines()
    if engine in engines:
        return []
    return [checks.Error(
        f"{SETTING}['URL'] names engine {engine!r}, which no installed plugin provides "
        f"(installed: {', '.join(sorted(engines)) or 'none'})",
        hint=f"pip install taskbridge-{engine}, or change the URL's engine",
        obj=SETTING, id="taskbridge.E002",
    )]


def _check_store(store: str | None) -> list[checks.CheckMessage]:
    from django.conf import settings
    from django.db import connections

    if store is None:
        return []
    scheme = store_scheme(store)
    if scheme != "django":
        if scheme in installed_stores():
            return []
        return [checks.Error(
            f"{SETTING}['STORE'] is {store!r}, not a store URL an installed plugin knows "
            f"(schemes: {', '.join(sorted(installed_stores()))})",
            hint="use 'django', 'django:<alias>', or a URL such as 'redis://localhost:6379/0'",
            obj=SETTING, id="taskbridge.E003",
        )]
    from taskbridge_django.factory import parse

    try:
        alias, _ = parse(store)
    except ConfigurationError as exc:
        return [checks.Error(str(exc), obj=SETTING, id="taskbridge.E003")]
    if alias not in settings.DATABASES:
        return [checks.Error(
            f"{SETTING}['STORE'] is {store!r}, but DATABASES has no {alias!r} "
            f"(it has {', '.join(settings.DATABASES)})",
            hint="name one of DATABASES, e.g. 'django' for the default database",
            obj=SETTING, id="taskbridge.E003",
        )]
    connection = connections[alias]
    mode = (connection.settings_dict.get("OPTIONS") or {}).get("transaction_mode")
    if connection.vendor == "sqlite" and str(mode).upper() != "IMMEDIATE":
        return [checks.Warning(
            f"the Django store uses SQLite database {alias!r} in deferred transaction mode, "
            "where concurrent workers and producers fail with 'database is locked'",
            hint=f'set DATABASES[{alias!r}]["OPTIONS"] = {{"transaction_mode": "IMMEDIATE"}}',
            obj=SETTING, id="taskbridge.W001",
        )]
    return []


def _check_imports(modules: tuple[str, ...]) -> list[checks.CheckMessage]:
    found: list[checks.CheckMessage] = []
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            found.append(checks.Error(
                f"{SETTING}['IMPORTS'] names {module!r}, which cannot be imported: {exc}",
                hint="give dotted module paths; every installed app's tasks.py is imported "
                     "anyway and need not be listed",
                obj=SETTING, id="taskbridge.E004",
            ))
    return found


def _check_on_commit(alias: str | None) -> list[checks.CheckMessage]:
    from django.conf import settings

    if alias is None or alias in settings.DATABASES:
        return []
    return [checks.Error(
        f"{SETTING}['ENQUEUE_ON_COMMIT'] names database {alias!r}, which DATABASES lacks",
        hint="True (the default database), False, or one of DATABASES",
        obj=SETTING, id="taskbridge.E005",
    )]
