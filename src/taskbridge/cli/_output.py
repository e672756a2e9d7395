"""How the command line answers: rich tables for people, JSON for scripts, and exit codes."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Iterable
from typing import Any

from rich.console import Console
from rich.table import Table

from taskbridge._config import sqlite_files
from taskbridge._errors import StoreUnavailable, TaskBridgeError

#: 0 ok; 1 a problem found (backend unreachable, unknown id or schedule, a retry refused);
#: 2 usage or configuration.
EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2


def console(stderr: bool = False) -> Console:
    # Resolved per call so output goes to whatever sys.stdout is now (pytest's capsys too).
    # A terminal's width is its own; elsewhere $COLUMNS when set (`watch`, `less`, an
    # editor's terminal), else wide, so ids and names are never cut in logs and pipes.
    stream = sys.stderr if stderr else sys.stdout
    return Console(file=stream, highlight=False,
                   width=None if stream.isatty() else _columns(default=200))


def _columns(default: int) -> int:
    try:
        return max(40, int(os.environ["COLUMNS"]))
    except (KeyError, ValueError):
        return default


class OutputClosed(Exception):
    """Whoever reads our stdout stopped reading (``taskbridge tasks --json | head``). Not an
    ``OSError``, so it is never taken for a store's failing socket."""


def emit(args: argparse.Namespace, data: Any, render: Callable[[], Any]) -> None:
    """Print ``data`` as JSON with ``--json``, else what ``render`` builds, for people."""
    try:
        if getattr(args, "json", False):
            print(json.dumps(data, indent=2, sort_keys=True, default=str))
        else:
            console().print(render())
        sys.stdout.flush()
    except BrokenPipeError:
        raise OutputClosed() from None


def error(message: object) -> None:
    """Print one ``taskbridge: error: ...`` line on stderr."""
    print(f"taskbridge: error: {message}", file=sys.stderr)


def fail(args: argparse.Namespace, exc: BaseException, code: int, hint: str = "") -> int:
    """Report ``exc`` as one line on stderr, and as ``{"error": {"type", "message"}}`` on
    stdout with ``--json``; returns ``code``."""
    message = str(exc) or type(exc).__name__
    if not isinstance(exc, TaskBridgeError):
        message = f"unexpected {type(exc).__name__}: {message}"
    error(" ".join(message.split("\n")[0].split()) + hint)
    if getattr(args, "json", False):
        print(json.dumps({"error": {"type": type(exc).__name__, "message": message}}, indent=2))
    return code


def require_databases(url: str) -> None:
    """Refuse to go on when ``url`` names an SQLite file that does not exist: a read-only
    command must not create an empty database and report on it."""
    for path in sqlite_files(url):
        if not path.exists():
            raise StoreUnavailable(
                f"no database at {path}: is the URL right? (--url, TASKBRIDGE_URL; a relative "
                "path is relative to the working directory; workers and producers create it)"
            )


def table(title: str, columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> Table:
    out = Table(title=title, title_justify="left")
    for column in columns:
        out.add_column(column, overflow="fold")
    for row in rows:
        out.add_row(*("" if cell is None else str(cell) for cell in row))
    return out


def when(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="seconds")
