"""The pluggy plugin registering the ``procrastinate`` engine (the ``taskbridge`` entry point)."""

from __future__ import annotations

from taskbridge import hookimpl


@hookimpl
def taskbridge_backends() -> dict[str, str]:
    # A path, not the class: Procrastinate is imported only when a URL names the engine.
    return {"procrastinate": "taskbridge_procrastinate.backend:ProcrastinateBackend"}
