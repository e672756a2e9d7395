"""``rq+redis://host:port/db?namespace=...``: RQ moves the envelopes, taskbridge keeps the state.

Options: ``namespace`` (default ``taskbridge``) prefixes taskbridge's store keys and RQ's
queue names (``<namespace>.<queue>``), so several apps or test runs share one Redis safely.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from taskbridge import (
    Backend,
    Capabilities,
    ConfigurationError,
    EnqueueError,
    Envelope,
    Record,
    WorkerOptions,
)
from taskbridge.plugin import BackendURL

from taskbridge_rq import jobs

if TYPE_CHECKING:
    from taskbridge import Bridge

_PRIORITY = "RQ runs each queue in order; put urgent work on its own queue"

#: What each ``--pool`` can do. ``fork`` (RQ's ``Worker``) runs each job in a forked work
#: horse: a crash or a leak dies with the horse, and RQ's parent kills a horse that outlives
#: its job timeout. ``simple`` (RQ's ``SimpleWorker``) runs jobs in the worker process itself:
#: faster to start, and SIGALRM timeouts still work (jobs run in its main thread), but a task
#: that segfaults, calls ``os._exit`` or ignores ``TaskTimeout`` takes the worker with it.
CAPABILITIES_BY_MODE = {
    "fork": Capabilities(priority=False, reasons={"priority": _PRIORITY}),
    "simple": Capabilities(priority=False, reasons={"priority": _PRIORITY}),
}
CRASH_ISOLATION = {"fork": True, "simple": False}
DEFAULT_POOL = "fork"


def _import_rq() -> Any:
    try:
        import rq
    except ImportError as exc:  # pragma: no cover - rq is a dependency of this distribution
        raise ConfigurationError(
            "the rq engine needs RQ 2.x: pip install 'taskbridge-rq' (or 'rq>=2,<3')"
        ) from exc
    return rq


class RQBackend:
    """RQ on Redis. Jobs call one runner with the envelope; RQ's JSONSerializer only."""

    engine = "rq"
    capabilities = CAPABILITIES_BY_MODE[DEFAULT_POOL]
    capabilities_by_mode = CAPABILITIES_BY_MODE

    def __init__(self, url: BackendURL) -> None:
        if url.transport not in ("redis", "rediss"):
            raise ConfigurationError(
                f"backend URL {url.redacted()!r}: RQ needs Redis; "
                "use rq+redis://host:port/db (or rq+rediss://)"
            )
        import redis
        from taskbridge.plugin import RedisStore

        _import_rq()
        self.url = url
        options = dict(url.options)
        self.namespace = options.pop("namespace", "taskbridge") or "taskbridge"
        if options:
            raise ConfigurationError(
                f"backend URL {url.redacted()!r}: unknown option(s) {', '.join(sorted(options))}; "
                "the rq engine knows 'namespace'"
            )
        self.client = redis.Redis.from_url(url.transport_url)
        self.store = RedisStore(self.client, namespace=self.namespace)

    def __repr__(self) -> str:
        return f"<RQBackend {self.url.redacted()} namespace={self.namespace!r}>"

    def rq_queue_name(self, queue: str) -> str:
        """RQ's name for taskbridge queue ``queue``."""
        return jobs.rq_queue_name(self.namespace, queue)

    # -- sending -------------------------------------------------------------------------

    def enqueue(self, envelopes: Sequence[Envelope]) -> None:
        """Write every envelope's RQ job in one script (retries, recovery, ``Bridge.retry``)."""
        import time

        import redis

        commands = jobs.batch_commands(envelopes, namespace=self.namespace, now=time.time())
        try:
            self.store.write(commands)
        except redis.RedisError as exc:
            raise EnqueueError(
                f"RQ could not enqueue {len(envelopes)} task(s) via {self.url.redacted()}: {exc}"
            ) from exc

    def create_and_enqueue(
        self,
        records: Sequence[Record],
        envelopes: Sequence[Envelope],
        *,
        now: float,
        idempotency_ttl: float,
    ) -> list[Record]:
        """Records, idempotency claims and RQ jobs in one Lua script: one round trip."""
        commands = {
            e.id: jobs.enqueue_commands(e, namespace=self.namespace, now=now) for e in envelopes
        }
        return self.store.create(
            records, now=now, idempotency_ttl=idempotency_ttl, writes=commands
        )

    # -- workers and management -----------------------------------------------------------------

    def run_worker(self, bridge: Bridge, options: WorkerOptions) -> None:
        from taskbridge_rq.worker import run_worker

        run_worker(self, bridge, options)

    def cancel(self, envelope_id: str) -> None:
        """Cancel the waiting RQ job natively (out of its queue or the scheduled registry).

        A running job is left alone: cancelling it is cooperative, through
        ``context.cancelled``. RQ's stop-job command would kill the horse mid-write and leave
        the record RUNNING until crash recovery noticed.
        """
        from rq.exceptions import InvalidJobOperation, NoSuchJobError
        from rq.job import JobStatus
        from rq.serializers import JSONSerializer

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
        from rq import Queue
        from rq.serializers import JSONSerializer

        rq_queue = Queue(self.rq_queue_name(queue), connection=self.client,
                         serializer=JSONSerializer)
        return int(rq_queue.count)

    def close(self) -> None:
        self.client.close()


def _check_protocol(backend: RQBackend) -> Backend:
    return backend
