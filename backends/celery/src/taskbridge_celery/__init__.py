"""taskbridge's Celery backend: ``celery+redis://`` and ``celery+amqp://`` URLs.

Nothing here imports Celery: the plugin module is loaded with every bridge, whatever its URL.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CeleryBackend", "RedisCeleryBackend"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from taskbridge_celery import backend

        return getattr(backend, name)
    raise AttributeError(f"module 'taskbridge_celery' has no attribute {name!r}")
