"""The pluggy plugin registering the ``huey`` engine (the ``taskbridge`` entry point)."""

from __future__ import annotations

from typing import Any

from taskbridge import hookimpl


@hookimpl
def taskbridge_backends() -> dict[str, Any]:
    # Imported here so that loading the plugin does not import Huey until a URL needs it.
    from taskbridge_huey.backend import HueyBackend

    return {"huey": HueyBackend}
