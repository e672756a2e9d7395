"""Native Procrastinate: an app on the benchmark's PostgreSQL database, with one no-op task.

Workers run ``procrastinate --app benchmarks.native.procrastinate_app.app worker``; the harness
sets the database through the environment, and builds its own producer apps with :func:`build`.
"""

from __future__ import annotations

import os
from typing import Any

from benchmarks import stamps
from benchmarks.native import POSTGRESQL_ENV

TASK_NAME = "bench_native_noop"


def noop(i: int) -> None:
    """Do nothing but leave a completion stamp (Procrastinate keeps no return value)."""
    stamps.record()


def build(conninfo: str) -> Any:
    """A Procrastinate ``App`` on ``conninfo`` with the no-op task as ``app.bench_noop``
    (not opened: the caller opens it, or Procrastinate's worker does)."""
    from procrastinate import App, PsycopgConnector

    app = App(connector=PsycopgConnector(conninfo=conninfo))
    app.bench_noop = app.task(name=TASK_NAME, queue="default")(noop)  # type: ignore[attr-defined]
    return app


def _from_environment() -> Any:
    conninfo = os.environ.get(POSTGRESQL_ENV)
    return build(conninfo) if conninfo else None


#: The app ``procrastinate --app benchmarks.native.procrastinate_app.app worker`` runs (None
#: outside a worker).
app = _from_environment()
