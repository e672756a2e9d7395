"""taskbridge's RQ backend: ``rq+redis://host:port/db?namespace=...``.

Nothing here imports RQ: the plugin module is loaded with every bridge, whatever its URL.
"""

from __future__ import annotations

from typing import Any

__all__ = ["POOLS", "RQBackend"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from taskbridge_rq import backend

        return getattr(backend, name)
    raise AttributeError(f"module 'taskbridge_rq' has no attribute {name!r}")
