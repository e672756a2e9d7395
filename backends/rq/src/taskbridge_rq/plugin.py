"""Registers the ``rq`` engine through the ``taskbridge`` entry-point group."""

from __future__ import annotations

from typing import Any

from taskbridge import hookimpl


@hookimpl
def taskbridge_backends() -> dict[str, Any]:
    # Imported here so that merely discovering plugins never imports RQ.
    from taskbridge_rq.backend import RQBackend

    return {"rq": RQBackend}
