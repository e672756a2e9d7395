"""SQLite connections for the SQLite store: one per thread, reopened after a fork."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from taskbridge._errors import ConfigurationError
from taskbridge._forks import reset_in_forked_child

_BUSY_TIMEOUT = 30.0


def checked_path(path: str | os.PathLike[str]) -> Path:
    """``path`` as a file the store can create, or a ``ConfigurationError`` saying why not."""
    if str(path) == ":memory:" or str(path).startswith("file::memory:"):
        raise ConfigurationError(
            f"SQLiteStore({str(path)!r}): an in-memory database is private to one "
            "connection; give a file path (or use the memory store for tests)"
        )
    checked = Path(path)
    if not checked.parent.is_dir():
        raise ConfigurationError(
            f"SQLite store path {str(checked)!r}: directory {str(checked.parent)!r} "
            "does not exist; create it or choose a path in an existing directory"
        )
    return checked


def _use_wal(conn: sqlite3.Connection) -> None:
    """Put the file in WAL mode (kept in the file: once is enough).

    Switching journal modes needs the file to itself, and SQLite answers "database is locked"
    at once, without waiting out the busy timeout, while another connection uses it: processes
    opening one new file together (producers and workers starting at once) try again.
    """
    deadline = time.monotonic() + _BUSY_TIMEOUT
    pause = 0.005
    while conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        try:
            conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.2)


class Connections:
    """The connections of one process to the database at ``path``, one per thread.

    WAL journal and a 30 s busy timeout let processes share the file. A forked child drops
    (without closing) its parent's connections and opens its own.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._forget()
        reset_in_forked_child(self._forget)
        _use_wal(self.get())

    def _forget(self) -> None:
        """Drop every connection: a forked child must not use its parent's."""
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[sqlite3.Connection] = []
        self._pid = os.getpid()

    def get(self) -> sqlite3.Connection:
        """This thread's connection (in autocommit mode: transactions are explicit)."""
        if self._pid != os.getpid():
            self._forget()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=_BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
            )
            conn.execute(f"PRAGMA busy_timeout={int(_BUSY_TIMEOUT * 1000)}")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._lock:
                self._opened.append(conn)
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: the write lock is taken before anything is read,
        so transactions on the file run one at a time."""
        conn = self.get()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
            if self._pid == os.getpid():
                for conn in opened:
                    conn.close()
        self._local = threading.local()
