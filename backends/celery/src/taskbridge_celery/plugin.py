"""Registers the ``celery`` engine with taskbridge through the ``taskbridge`` entry-point group."""

from __future__ import annotations

from typing import Any

from taskbridge import hookimpl


@hookimpl
def taskbridge_backends() -> dict[str, Any]:
    # Celery is imported only when a celery+... URL is actually used.
    from taskbridge_celery.backend import CeleryBackend

    return {"celery": CeleryBackend}
