"""The Procrastinate backend: taskbridge executions as Procrastinate jobs in PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from taskbridge import ConfigurationError
from taskbridge.plugin import (
    Backend,
    BackendURL,
    Capabilities,
    Envelope,
    StateStore,
    Worker,
    open_store,
)
from taskbridge_procrastinate import _jobs

logger = logging.getLogger("taskbridge.procrastinate")

_THREAD_TIMEOUTS = (
    "Procrastinate runs synchronous tasks in threads of its worker, where no signal can "
    "interrupt them, and has no time limit of its own; use a backend with process workers "
    "(huey+...?pool=process, rq+redis://, celery+...) for timeout="
)

#: Procrastinate's worker runs every job of a process in its thread pool.
POOLS: Mapping[str, Capabilities] = {
    "thread": Capabilities(timeouts=False, reasons={"timeouts": _THREAD_TIMEOUTS}),
}


class ProcrastinateBackend:
    """``procrastinate+postgresql://user:password@host:5432/database?namespace=app``.

    Jobs live in Procrastinate's tables (``procrastinate_jobs``, created on first use when the
    database has none), on the queue ``<namespace>.<queue>``. Without ``?store=``, records live
    in the same database (the PostgreSQL store, schema ``<namespace>``), and the record, its
    idempotency claim and its job row are written in one transaction.
    """

    engine = "procrastinate"
    pools: ClassVar[Mapping[str, Capabilities]] = POOLS
    url_options: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, url: BackendURL, *, store: StateStore | None = None) -> None:
        if url.transport not in ("postgresql", "postgres"):
            raise ConfigurationError(
                f"{url.redacted()}: the procrastinate backend runs on PostgreSQL, not "
                f"{url.transport!r}; use procrastinate+postgresql://user@host:5432/database"
            )
        self.url = url
        self.namespace = url.namespace
        self.conninfo = url.transport_url
        self.jobs = _jobs.Connection(self.conninfo)
        #: Job rows are written in the store's own transaction only when the store is ours.
        self._shared = store is None
        self.store: StateStore = store or open_store(self.conninfo, namespace=self.namespace)

    def writes(self, envelopes: Sequence[Envelope], *, now: float) -> Mapping[str, Any] | None:
        """Procrastinate's defer, run in the PostgreSQL store's transaction when the records
        live in this database: record, claim and job row in one commit."""
        if not self._shared:
            return None
        self.jobs.ensure_schema()
        return {e.id: [_jobs.defer(e, self.namespace)] for e in envelopes}

    def publish(self, envelopes: Sequence[Envelope]) -> None:
        """Procrastinate's defer in a transaction of its own (the store lives elsewhere)."""
        self.jobs.run([_jobs.defer(e, self.namespace) for e in envelopes])

    def run_worker(self, worker: Worker) -> None:
        from taskbridge_procrastinate._worker import run

        self.jobs.ensure_schema()  # a worker may start before anything was ever enqueued
        run(worker, self.conninfo, [_jobs.queue_name(self.namespace, q)
                                    for q in worker.options.queues])

    def cancel(self, envelope_id: str) -> None:
        # The store already keeps a canceled task from running (and tells a running one
        # through context.canceled); Procrastinate's cancel also shows it to Procrastinate's
        # tools and spares the worker the job.
        try:
            self.jobs.one(_jobs.CANCEL, (envelope_id,))
        except Exception:  # best effort: the store is what guarantees the cancel
            logger.warning("Procrastinate's cancel of %s failed; the store still cancels it",
                           envelope_id, exc_info=True)

    def queue_depth(self, queue: str) -> int:
        return int(self.jobs.one(_jobs.DEPTH, (_jobs.queue_name(self.namespace, queue),)))

    def close(self) -> None:
        self.jobs.close()  # the bridge closes the store


def _check_protocol(backend: ProcrastinateBackend) -> Backend:
    return backend
