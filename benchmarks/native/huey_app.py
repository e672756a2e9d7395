"""Native Huey: an app built from the harness's settings, with one no-op task.

The consumer loads ``benchmarks.native.huey_app.huey``; the harness builds its own instances
with :func:`build` so every phase gets a fresh queue name or SQLite file.
"""

from __future__ import annotations

import os
from typing import Any

from benchmarks import stamps
from benchmarks.native import HUEY_NAME_ENV, HUEY_SQLITE_ENV, REDIS_ENV

TASK_NAME = "bench_native_noop"


def noop(i: int) -> int:
    """Do nothing but leave a completion stamp; return the argument."""
    stamps.record()
    return i


def build(name: str, *, redis_url: str | None = None, sqlite_path: str | None = None,
          **storage: Any) -> Any:
    """A Huey on Redis (``redis_url``) or SQLite (``sqlite_path``) with the no-op task as
    ``app.bench_noop``."""
    from huey import RedisHuey, SqliteHuey

    if sqlite_path is not None:
        app = SqliteHuey(name, filename=sqlite_path, **storage)
    else:
        app = RedisHuey(name, url=redis_url, **storage)
    app.bench_noop = app.task(name=TASK_NAME)(noop)
    return app


def _from_environment() -> Any:
    name = os.environ.get(HUEY_NAME_ENV)
    if name is None:
        return None
    sqlite_path = os.environ.get(HUEY_SQLITE_ENV)
    if sqlite_path:
        return build(name, sqlite_path=sqlite_path)
    return build(name, redis_url=os.environ[REDIS_ENV], notify_result=True)


#: The app ``huey_consumer benchmarks.native.huey_app.huey`` runs (None outside a consumer).
huey = _from_environment()
