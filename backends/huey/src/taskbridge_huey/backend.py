"""The Huey backend: one Huey per taskbridge queue, on SQLite (embedded) or Redis."""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from huey.storage import SqliteStorage

from taskbridge import (
    Backend,
    Capabilities,
    ConfigurationError,
    EnqueueError,
    Envelope,
    Record,
    StateStore,
    WorkerOptions,
)
from taskbridge.plugin import BackendURL, SQLiteStore, Statement
from taskbridge_huey._huey import TaskbridgeHuey
from taskbridge_huey._serializer import message_for

if TYPE_CHECKING:
    from taskbridge import Bridge

logger = logging.getLogger("taskbridge.huey")

_NAMESPACE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
_OPTIONS = frozenset({"namespace", "pool"})
POOLS = ("thread", "process")

_THREAD_TIMEOUTS = (
    "Huey thread workers run tasks off the main thread, where no signal can interrupt them; "
    "add ?pool=process to the URL and run 'taskbridge worker --pool process'"
)

#: What the backend can do under each worker mode (``?pool=`` in the URL, ``--pool`` on the
#: worker). ``timeout=`` needs process workers: each forked worker runs its task in its own
#: main thread, where the core's SIGALRM alarm can stop it.
CAPABILITIES_BY_MODE = {
    "thread": Capabilities(timeouts=False, reasons={"timeouts": _THREAD_TIMEOUTS}),
    "process": Capabilities(),
}


class HueyBackend:
    """``huey+sqlite:///path.db`` and ``huey+redis://host:port/db``.

    URL options: ``namespace`` (default ``taskbridge``) prefixes every Huey name (the queue
    ``emails`` is the Huey ``taskbridge.emails``) and the Redis store's keys; ``pool``
    (``thread``, the default, or ``process``) is the worker mode the producer may assume, and
    so decides whether ``timeout=`` is accepted.
    """

    engine = "huey"
    capabilities_by_mode: ClassVar[dict[str, Capabilities]] = CAPABILITIES_BY_MODE

    def __new__(cls, url: BackendURL) -> HueyBackend:
        if cls is HueyBackend and url.transport == "redis":
            from taskbridge_huey._redis import RedisHueyBackend

            cls = RedisHueyBackend
        return super().__new__(cls)

    def __init__(self, url: BackendURL) -> None:
        unknown = sorted(set(url.options) - _OPTIONS)
        if unknown:
            raise ConfigurationError(
                f"{url.redacted()}: unknown option(s) {', '.join(unknown)}; the huey backend "
                f"takes {', '.join(sorted(_OPTIONS))}"
            )
        self.url = url
        self.namespace = url.options.get("namespace", "taskbridge")
        if not _NAMESPACE.fullmatch(self.namespace):
            raise ConfigurationError(
                f"{url.redacted()}: namespace {self.namespace!r} must be 1-64 letters, digits, "
                "'_', '.' or '-'"
            )
        self.pool = url.options.get("pool", "thread")
        if self.pool not in POOLS:
            raise ConfigurationError(
                f"{url.redacted()}: pool={self.pool!r}; choose one of {', '.join(POOLS)}"
            )
        self.capabilities = self.capabilities_by_mode[self.pool]
        self._hueys: dict[str, TaskbridgeHuey] = {}
        self._lock = threading.Lock()
        self.store: StateStore = self._connect()

    # -- per transport (SQLite here, Redis in the subclass) --------------------------------

    def _connect(self) -> StateStore:
        if self.url.transport != "sqlite":
            raise ConfigurationError(
                f"{self.url.redacted()}: the huey backend runs on 'sqlite' or 'redis', not "
                f"{self.url.transport!r}; use huey+sqlite:///tasks.db or huey+redis://host:6379/0"
            )
        self.path = sqlite_path(self.url)
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

    def _rows(self, envelopes: Sequence[Envelope]) -> dict[str, Statement]:
        """The row SqliteStorage.enqueue (or add_to_schedule) would write, by envelope id."""
        now = time.time()
        rows: dict[str, Statement] = {}
        for envelope in envelopes:
            huey = self.huey(envelope.queue)  # also creates Huey's tables on first use
            message = message_for(envelope)
            data = huey.serializer.serialize(message)
            if is_delayed(envelope, now):
                rows[envelope.id] = (
                    "insert into schedule (queue, data, timestamp) values (?, ?, ?)",
                    (huey.name, data, message.eta.timestamp()),
                )
            else:
                rows[envelope.id] = (
                    "insert into task (queue, data, priority) values (?, ?, ?)",
                    (huey.name, data, envelope.priority),
                )
        return rows

    def _send(self, envelopes: Sequence[Envelope]) -> None:
        # One transaction for the whole batch (every queue shares the file).
        rows = self._rows(envelopes)
        storage = self.huey(envelopes[0].queue).storage
        try:
            with storage.db(commit=True) as cursor:
                for sql, params in rows.values():
                    cursor.execute(sql, params)
        except sqlite3.Error as exc:
            raise EnqueueError(
                f"could not write {len(envelopes)} Huey message(s) to {self.path}: {exc}"
            ) from exc

    def create_and_enqueue(
        self,
        records: Sequence[Record],
        envelopes: Sequence[Envelope],
        *,
        now: float,
        idempotency_ttl: float,
    ) -> list[Record]:
        """Records, idempotency claims and Huey's rows in one SQLite transaction (the store and
        Huey share the file): one commit per enqueue, and a deduplicated record's message is
        never written."""
        rows = self._rows(envelopes)
        assert isinstance(self.store, SQLiteStore)
        try:
            return self.store.create(
                records, now=now, idempotency_ttl=idempotency_ttl,
                writes={id: [row] for id, row in rows.items()},
            )
        except sqlite3.Error as exc:
            raise EnqueueError(
                f"could not store {len(records)} task(s) in {self.path}: {exc}"
            ) from exc

    # -- the Backend protocol ------------------------------------------------------------

    def huey(self, queue: str) -> TaskbridgeHuey:
        """The Huey instance behind ``queue`` (named ``<namespace>.<queue>``)."""
        with self._lock:
            found = self._hueys.get(queue)
            if found is None:
                found = self._hueys[queue] = self._make_huey(queue, f"{self.namespace}.{queue}")
            return found

    def enqueue(self, envelopes: Sequence[Envelope]) -> None:
        if envelopes:
            self._send(envelopes)

    def run_worker(self, bridge: Bridge, options: WorkerOptions) -> None:
        from taskbridge_huey._worker import run_consumers

        pool = options.pool or self.pool
        if pool not in POOLS:
            raise ConfigurationError(
                f"--pool {pool!r} is not a Huey worker type; choose one of {', '.join(POOLS)}"
            )
        if pool == "thread" and self.capabilities.timeouts:
            logger.warning("the URL says pool=process but this worker runs threads: task "
                           "timeouts will not be enforced; start it with --pool process")
        run_consumers(bridge, [self.huey(queue) for queue in options.queues], options, pool)

    def cancel(self, envelope_id: str) -> None:
        # The store already keeps a canceled task from running; Huey's revoke (once, so the
        # flag is cleared when the message comes by) also spares the worker the delivery and
        # shows the revocation to Huey's own tools.
        try:
            record = self.store.get_many([envelope_id])[0]
            if record is not None:
                self.huey(record.queue).revoke_by_id(envelope_id, revoke_once=True)
        except Exception:  # best effort: the store is what guarantees the cancel
            logger.warning("Huey revoke of %s failed; the store still cancels it", envelope_id,
                           exc_info=True)

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
