"""The PostgreSQL store's connections: one pool a process, reopened in a forked child."""

from __future__ import annotations

import os
import select
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from taskbridge.plugin import reset_in_forked_child

#: How long a caller waits for a connection before the pool gives up (``PoolTimeout``, an
#: ``OperationalError``: the store's transient errors).
POOL_TIMEOUT = 10.0
#: Connections a process keeps open at most: a worker's threads and a producer's share them.
POOL_SIZE = 10
#: Seconds libpq waits for a server that does not answer.
CONNECT_TIMEOUT = 5

#: Pools a forked child inherited. Their sockets belong to the parent: the child must neither use
#: nor close them (closing sends the server a goodbye on the parent's session), and a collected
#: pool would wait for background threads that do not exist in the child. Kept, never touched.
_INHERITED: list[ConnectionPool[Any]] = []


def _check(conn: psycopg.Connection[Any]) -> None:
    """Raise if an idle connection was closed by the server (a restart, an administrator, an
    idle timeout), so the pool replaces it before anyone uses it.

    The server says so on the socket before closing it, so an idle connection with something to
    read is asked once more; a quiet one costs a ``poll`` (no limit on descriptor numbers,
    unlike ``select``) and no round trip.
    """
    waiting = select.poll()
    waiting.register(conn.fileno(), select.POLLIN)
    if waiting.poll(0):
        ConnectionPool.check_connection(conn)


class Pool:
    """A ``psycopg_pool.ConnectionPool`` of autocommit connections to ``conninfo``, opened on
    first use in each process: a forked child sets its parent's aside and opens its own."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._lock = threading.Lock()
        self._pool: ConnectionPool[Any] | None = None
        self._pid = os.getpid()
        reset_in_forked_child(self._forget)

    def _forget(self) -> None:
        if self._pool is not None:
            _INHERITED.append(self._pool)
        self._pool = None
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def _opened(self) -> ConnectionPool[Any]:
        if self._pid != os.getpid():
            self._forget()
        with self._lock:
            if self._pool is None:
                self._pool = ConnectionPool(
                    self.conninfo,
                    kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
                    min_size=1,
                    max_size=POOL_SIZE,
                    timeout=POOL_TIMEOUT,
                    check=_check,
                    name="taskbridge",
                    open=True,
                )
            return self._pool

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection of this process's pool, in autocommit mode, returned afterwards."""
        with self._opened().connection() as conn:
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection inside one transaction, committed when the block ends without an
        exception and rolled back otherwise."""
        with self.connection() as conn, conn.transaction():
            yield conn

    def close(self) -> None:
        """Close this process's connections (never a parent's)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None and self._pid == os.getpid():
            pool.close()
