"""taskbridge on Huey: ``huey+sqlite:///tasks.db`` (embedded, the default) and ``huey+redis://``.

Nothing here imports Huey: the plugin module is loaded with every bridge, whatever its URL.
"""

from __future__ import annotations

from typing import Any

__all__ = ["POOLS", "HueyBackend"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from taskbridge_huey import backend

        return getattr(backend, name)
    raise AttributeError(f"module 'taskbridge_huey' has no attribute {name!r}")
