"""The Huey backend: one Huey per taskbridge queue, on SQLite (embedded) or Redis."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from huey.storage import SqliteStorage

from taskbridge import ConfigurationError, EnqueueError
from taskbridge.plugin import (
    Backend,
    BackendURL,
    Capabilities,
    Envelope,
    SQLiteStore,
    Statement,
    StateStore,
    Worker,
)
from taskbridge_huey._huey import TaskbridgeHuey
from taskbridge_huey._serializer import message_for

_THREAD_TIMEOUTS = (
    "Huey thread workers run tasks off the main thread, where no signal can interrupt them; "
    "add ?pool=process to the URL and run 'taskbridge worker --pool process'"
)

#: Huey's worker types (``?pool=`` in the URL, ``--pool`` on the worker) and what each can do.
#: ``timeout=`` needs process workers: each forked worker runs its task in its own main thread,
#: where the core's SIGALRM alarm can stop it.
POOLS: Mapping[str, Capabilities] = {
    "thread": Capabilities(timeouts=False, reasons={"timeouts": _THREAD_TIMEOUTS}),
    "process": Capabilities(),
}


class HueyBackend:
    """``huey+sqlite:///path.db`` and ``huey+redis://host:port/db``.

    The URL's ``namespace`` (default ``taskbridge``) prefixes every Huey name (the queue
    ``emails`` is the Huey ``taskbridge.emails``) and the Redis store's keys.
    """

    engine = "huey"
    pools: ClassVar[Mapping[str, Capabilities]] = POOLS
    url_options: ClassVar[frozenset[str]] = frozenset()

    def __new__(cls, url: BackendURL, *, store: StateStore | None = None) -> HueyBackend:
        if cls is HueyBackend and url.transport == "redis":
            from taskbridge_huey._redis import RedisHueyBackend

            cls = RedisHueyBackend
        return super().__new__(cls)

    def __init__(self, url: BackendURL, *, store: StateStore | None = None) -> None:
        self.url = url
        self.namespace = url.namespace
        self._hueys: dict[str, TaskbridgeHuey] = {}
        self._lock = threading.Lock()
        self._connect()
        #: Messages are written in the store's own transaction only when it is ours.
        self._shared = store is None
        self.store: StateStore = store or self._natural_store()

    # -- per transport (SQLite here, Redis in the subclass) --------------------------------

    def _connect(self) -> None:
        if self.url.transport != "sqlite":
            raise ConfigurationError(
                f"{self.url.redacted()}: the huey backend runs on 'sqlite' or 'redis', not "
                f"{self.url.transport!r}; use huey+sqlite:///tasks.db or huey+redis://host:6379/0"
            )
        # Resolved once, now: a worker that changes directory keeps the same file.
        self.path = sqlite_path(self.url).absolute()

    def _natural_store(self) -> StateStore:
        try:
            return SQLiteStore(self.path)
        except (ConfigurationError, sqlite3.Error) as exc:
            # The database file is this backend's server: not being able to open it is the
            # backend being unreachable, as a Redis that does not answer would be.
            raise EnqueueError(
                f"cannot open the Huey SQLite database {str(self.path)!r} for "
                f"{self.url.redacted()}: {exc}"
            ) from exc

    def _make_huey(self, queue: str, name: str) -> TaskbridgeHuey:
        return TaskbridgeHuey(queue, name, SqliteStorage, filename=str(self.path))

    def _rows(self, envelopes: Sequence[Envelope], now: float) -> dict[str, list[Statement]]:
        """The row SqliteStorage.enqueue (or add_to_schedule) would write, by envelope id."""
        rows: dict[str, list[Statement]] = {}
        for envelope in envelopes:
            huey = self.huey(envelope.queue)  # also creates Huey's tables on first use
            message = message_for(envelope)
            data = huey.serializer.serialize(message)
            if is_delayed(envelope, now):
                rows[envelope.id] = [(
                    "insert into schedule (queue, data, timestamp) values (?, ?, ?)",
                    (huey.name, data, message.eta.timestamp()),
                )]
            else:
                rows[envelope.id] = [(
                    "insert into task (queue, data, priority) values (?, ?, ?)",
                    (huey.name, data, envelope.priority),
                )]
        return rows

    def writes(self, envelopes: Sequence[Envelope], *, now: float) -> Mapping[str, Any] | None:
        """Huey's rows, run in the store's transaction when the store is this same file: record,
        claim and message in one commit."""
        return self._rows(envelopes, now) if self._shared else None

    def publish(self, envelopes: Sequence[Envelope]) -> None:
        """Huey's rows in one transaction of Huey's own (the store lives elsewhere)."""
        rows = self._rows(envelopes, time.time())
        with self.huey(envelopes[0].queue).storage.db(commit=True) as cursor:
            for statements in rows.values():
                for sql, params in statements:
                    cursor.execute(sql, params)

    # -- the Backend protocol ------------------------------------------------------------

    def huey(self, queue: str) -> TaskbridgeHuey:
        """The Huey instance behind ``queue`` (named ``<namespace>.<queue>``)."""
        with self._lock:
            found = self._hueys.get(queue)
            if found is None:
                found = self._hueys[queue] = self._make_huey(queue, f"{self.namespace}.{queue}")
            return found

    def run_worker(self, worker: Worker) -> None:
        from taskbridge_huey._worker import run_consumers

        run_consumers(worker, [self.huey(queue) for queue in worker.options.queues])

    def cancel(self, envelope_id: str) -> None:
        # Nothing to do in Huey: the store refuses to start a canceled execution when its
        # message comes by. Huey's own revoke would cost every task two storage round trips
        # (see TaskbridgeHuey.is_revoked).
        return None

    def queue_depth(self, queue: str) -> int:
        return int(self.huey(queue).pending_count())

    def close(self) -> None:
        with self._lock:
            hueys = list(self._hueys.values())
        for huey in hueys:
            huey.storage.close()


def sqlite_path(url: BackendURL) -> Path:
    """``sqlite:///rel/x.db`` is relative to the working directory, ``sqlite:////abs/x.db``
    absolute (SQLAlchemy's convention)."""
    rest = url.transport_url.removeprefix("sqlite://")
    if not rest.startswith("/") or rest == "/":
        raise ConfigurationError(
            f"{url.redacted()}: expected huey+sqlite:///relative/path.db or "
            "huey+sqlite:////absolute/path.db (no host)"
        )
    return Path(rest[1:])


def is_delayed(envelope: Envelope, now: float) -> bool:
    """Goes to Huey's schedule rather than straight onto the queue."""
    return envelope.run_at is not None and envelope.run_at > now


def _check_protocol(backend: HueyBackend) -> Backend:
    return backend
