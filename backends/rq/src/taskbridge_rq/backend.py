"""``rq+redis://host:port/db?namespace=...``: RQ moves the envelopes, taskbridge keeps the state."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import redis
from rq import Queue
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import JobStatus
from rq.serializers import JSONSerializer
from taskbridge import ConfigurationError
from taskbridge.plugin import (
    Backend,
    BackendURL,
    Capabilities,
    Envelope,
    RedisStore,
    StateStore,
    Worker,
)

from taskbridge_rq import jobs

_PRIORITY = "RQ runs each queue in order; put urgent work on its own queue"

#: RQ's worker classes (``--pool``) and what each can do. ``fork`` (RQ's ``Worker``, the
#: default) runs each job in a forked work horse: a crash or a leak dies with the horse, and
#: RQ's parent kills a horse that outlives its job timeout. ``simple`` (RQ's ``SimpleWorker``)
#: runs jobs in the worker process itself: faster to start, and SIGALRM timeouts still work
#: (jobs run in its main thread), but a task that segfaults, calls ``os._exit`` or ignores
#: ``TaskTimeout`` takes the worker with it.
POOLS: Mapping[str, Capabilities] = {
    "fork": Capabilities(priority=False, reasons={"priority": _PRIORITY}),
    "simple": Capabilities(priority=False, reasons={"priority": _PRIORITY}),
}


class RQBackend:
    """RQ on Redis. Jobs call one runner with the envelope; RQ's JSONSerializer only.

    The URL's ``namespace`` (default ``taskbridge``) prefixes taskbridge's store keys and RQ's
    queue names (``<namespace>.<queue>``), so several apps or test runs share one Redis safely.
    """

    engine = "rq"
    pools: ClassVar[Mapping[str, Capabilities]] = POOLS
    url_options: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, url: BackendURL, *, store: StateStore | None = None) -> None:
        if url.transport not in ("redis", "rediss"):
            raise ConfigurationError(
                f"backend URL {url.redacted()!r}: RQ needs Redis; "
                "use rq+redis://host:port/db (or rq+rediss://)"
            )
        self.url = url
        self.namespace = url.namespace
        self.client = redis.Redis.from_url(url.transport_url)
        #: RQ's Redis, as a store: it runs the job writes (in its scripts' atomic way).
        self._queues = RedisStore(self.client, namespace=self.namespace)
        self.store: StateStore = store or self._queues

    def __repr__(self) -> str:
        return f"<RQBackend {self.url.redacted()} namespace={self.namespace!r}>"

    def rq_queue_name(self, queue: str) -> str:
        """RQ's name for taskbridge queue ``queue``."""
        return jobs.rq_queue_name(self.namespace, queue)

    # -- sending -------------------------------------------------------------------------

    def writes(self, envelopes: Sequence[Envelope], *, now: float) -> Mapping[str, Any] | None:
        """RQ's job hash and queue writes, run in the store's script when the store is this
        Redis: records, claims and jobs in one round trip."""
        if self.store is not self._queues:
            return None
        namespace = self.namespace
        return {e.id: jobs.enqueue_commands(e, namespace=namespace, now=now) for e in envelopes}

    def publish(self, envelopes: Sequence[Envelope]) -> None:
        """RQ's writes in one atomic script on RQ's Redis (when the store lives elsewhere)."""
        now = time.time()
        self._queues.write(jobs.batch_commands(envelopes, namespace=self.namespace, now=now))

    # -- workers and management -----------------------------------------------------------------

    def run_worker(self, worker: Worker) -> None:
        from taskbridge_rq.worker import run_worker

        run_worker(self, worker)

    def cancel(self, envelope_id: str) -> None:
        """Cancel the waiting RQ job natively (out of its queue or the scheduled registry).

        A running job is left alone: canceling it is cooperative, through
        ``context.canceled``. RQ's stop-job command would kill the horse mid-write and leave
        the record RUNNING until crash recovery noticed.
        """
        from taskbridge_rq.runner import TaskbridgeJob

        [record] = self.store.get_many([envelope_id])
        attempt = record.envelope.attempt if record and record.envelope else 1
        try:
            job = TaskbridgeJob.fetch(
                jobs.job_id(envelope_id, attempt), connection=self.client,
                serializer=JSONSerializer,
            )
            if job.get_status(refresh=False) in (
                JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED
            ):
                job.cancel()
        except (NoSuchJobError, InvalidJobOperation):
            pass  # already ran, or already gone: the record's status is what counts

    def queue_depth(self, queue: str) -> int:
        """Jobs waiting on ``queue`` (RQ's ``Queue.count``; scheduled ones are elsewhere)."""
        rq_queue = Queue(self.rq_queue_name(queue), connection=self.client,
                         serializer=JSONSerializer)
        return int(rq_queue.count)

    def close(self) -> None:
        self.client.close()


def _check_protocol(backend: RQBackend) -> Backend:
    return backend
