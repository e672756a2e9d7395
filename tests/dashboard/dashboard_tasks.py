"""Tasks the dashboard tests enqueue, importable by worker, scheduler and dashboard processes."""

from __future__ import annotations

import os
from pathlib import Path

from taskbridge import task


@task(name="dash.add")
def add(a: int, b: int) -> int:
    return a + b


@task(name="dash.echo")
def echo(*args: object, **kwargs: object) -> dict[str, object]:
    return {"args": list(args), "kwargs": kwargs}


@task(name="dash.fails_once", queue="default")
def fails_once(marker: str, note: str = "") -> str:
    """Fails the first time (leaving ``marker`` behind), succeeds from then on."""
    path = Path(marker)
    if not path.exists():
        path.write_text(str(os.getpid()))
        raise RuntimeError(f"first attempt fails on purpose ({note})")
    return "fixed"


@task(name="dash.tick")
def tick(timestamp: int, label: str = "") -> int:
    return timestamp
