"""The pluggy plugin of the Django adapter (the ``taskbridge`` entry point): the ``django`` store
scheme, Django's database connections looked after around each task a worker runs, and Django's
task signals for the tasks of ``TaskBridgeBackend``."""

from __future__ import annotations

from typing import Any

from taskbridge import hookimpl
from taskbridge.plugin import StoreFactory
from taskbridge_django import running


@hookimpl
def taskbridge_stores() -> dict[str, StoreFactory]:
    from taskbridge_django.factory import django_store

    return {"django": django_store}


def _close_old_connections() -> None:
    """What Django does at each request's start and end, done at each task's: a task never
    inherits a connection that broke or outlived ``CONN_MAX_AGE``."""
    import sys

    if "django.db" not in sys.modules:
        return
    from django.apps import apps

    if not apps.ready:
        return
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        # Inside a transaction (an inline memory:// run in a test) the connection stays.
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()


@hookimpl
def taskbridge_started(record: Any) -> None:
    _close_old_connections()
    running.started(record)


@hookimpl
def taskbridge_succeeded(record: Any) -> None:
    _close_old_connections()
    running.finished(record)


@hookimpl
def taskbridge_failed(record: Any) -> None:
    _close_old_connections()
    running.finished(record)


@hookimpl
def taskbridge_canceled(record: Any) -> None:
    running.finished(record)


@hookimpl
def taskbridge_retrying(record: Any) -> None:
    _close_old_connections()
