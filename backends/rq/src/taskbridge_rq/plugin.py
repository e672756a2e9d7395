"""The pluggy plugin registering the ``rq`` engine (the ``taskbridge`` entry point)."""

from __future__ import annotations

from taskbridge import hookimpl


@hookimpl
def taskbridge_backends() -> dict[str, str]:
    # A path, not the class: the engine is imported only when a URL names it.
    return {"rq": "taskbridge_rq.backend:RQBackend"}
