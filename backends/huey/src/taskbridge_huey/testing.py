"""Test support for the Huey backend, registered in the ``taskbridge.testing`` entry-point
group: its conformance URLs. (Huey names every Redis key after its queue, ``huey.*.<ns>.<q>``,
so a test namespace's clean-up finds them all without help.)"""

from __future__ import annotations

from pathlib import Path

from taskbridge import hookimpl


@hookimpl
def taskbridge_conformance_urls(redis_url: str, workdir: Path) -> list[str]:
    """SQLite with thread workers (the default) and with process workers (which enforce
    timeouts), and Redis."""
    return [
        f"huey+sqlite:///{workdir / 'tasks.db'}",
        f"huey+sqlite:///{workdir / 'process.db'}?pool=process",
        f"huey+{redis_url}",
    ]
