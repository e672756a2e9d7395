"""``celery+redis://`` and ``celery+amqp://``: envelopes as Celery task messages, Celery workers."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import redis
from kombu.exceptions import KombuError

from taskbridge import Capabilities, EnqueueError, Envelope, Record, WorkerOptions
from taskbridge.plugin import BackendURL, RedisStore
from taskbridge_celery import worker
from taskbridge_celery.app import create_app
from taskbridge_celery.config import CeleryConfig
from taskbridge_celery.messages import (
    celery_priority,
    redis_push,
    redis_queue_key,
    task_message,
)

if TYPE_CHECKING:
    from taskbridge import Bridge

logger = logging.getLogger("taskbridge.celery")

_THREADS_TIMEOUTS = (
    "Celery's threads pool runs tasks outside the main thread, where neither taskbridge's "
    "SIGALRM timeout nor Celery's time limits can interrupt them; run the worker with "
    "--pool prefork (the default) or --pool solo"
)

#: What each worker pool (``taskbridge worker --pool``) can do.
CAPABILITIES_BY_MODE = {
    "prefork": Capabilities(),
    "solo": Capabilities(),
    "threads": Capabilities(timeouts=False, reasons={"timeouts": _THREADS_TIMEOUTS}),
}


class CeleryBackend:
    """Celery on RabbitMQ (messages published through kombu's producer) or on Redis.

    Results and state live in a :class:`~taskbridge.plugin.RedisStore` under the URL's
    ``namespace``, which also prefixes Celery's queue names. Constructing ``CeleryBackend``
    with a Redis broker gives a :class:`RedisCeleryBackend`, which stores and sends in one
    round trip.
    """

    engine = "celery"
    #: Per ``--pool``; ``capabilities`` is the default pool's (prefork).
    capabilities_by_mode = CAPABILITIES_BY_MODE
    capabilities = CAPABILITIES_BY_MODE["prefork"]

    def __new__(cls, url: BackendURL) -> CeleryBackend:
        if cls is CeleryBackend and CeleryConfig.from_url(url).on_redis:
            cls = RedisCeleryBackend
        return super().__new__(cls)

    def __init__(self, url: BackendURL) -> None:
        self.url = url
        self.config = CeleryConfig.from_url(url)
        self.store = RedisStore(self.config.store_url, namespace=self.config.namespace)
        self.app = create_app(self.config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url.redacted()}>"

    def enqueue(self, envelopes: Sequence[Envelope]) -> None:
        """Publish through kombu's producer, one confirmed publish per envelope."""
        try:
            with self.app.producer_or_acquire() as producer:
                for envelope in envelopes:
                    self.app.amqp.send_task_message(
                        producer,
                        envelope.task_name,
                        task_message(self.app, self.config, envelope),
                        queue=self.config.queue_name(envelope.queue),
                        priority=celery_priority(envelope.priority),
                        retry=True,
                        retry_policy={"max_retries": 2, "interval_start": 0,
                                      "interval_step": 0.2, "interval_max": 0.5},
                    )
        except (OSError, KombuError) as exc:
            raise EnqueueError(
                f"Celery could not publish {len(envelopes)} task(s) to "
                f"{self.url.redacted()}: {exc}; check that the broker is running"
            ) from exc

    def run_worker(self, bridge: Bridge, options: WorkerOptions) -> None:
        worker.run_worker(self.app, self.config, bridge, options)

    def cancel(self, envelope_id: str) -> None:
        """Celery's revoke, without terminate: a waiting message is skipped; a running task
        stops cooperatively through ``context.cancelled``, which the store already relays."""
        try:
            self.app.control.revoke(envelope_id)
        except (OSError, KombuError):
            logger.warning("could not broadcast revoke for %s; the store's cancel stands",
                           envelope_id, exc_info=True)

    def queue_depth(self, queue: str) -> int:
        """Messages ready on the queue, by a passive declare (0 for a queue never declared)."""
        name = self.config.queue_name(queue)
        try:
            with self.app.connection_for_write() as connection:
                channel = connection.channel()
                try:
                    return int(channel.queue_declare(queue=name, passive=True).message_count)
                except connection.channel_errors as exc:
                    if getattr(exc, "code", None) == 404:
                        return 0
                    raise
        except (OSError, KombuError) as exc:
            raise EnqueueError(f"cannot reach {self.url.redacted()}: {exc}") from exc

    def close(self) -> None:
        self.app.close()
        self.store.close()


class RedisCeleryBackend(CeleryBackend):
    """Celery on Redis: kombu's wire form written by the store's own script, atomically."""

    def _pushes(self, envelopes: Sequence[Envelope]) -> dict[str, list[tuple[str, str, str]]]:
        pushes: dict[str, list[tuple[str, str, str]]] = {}
        for envelope in envelopes:
            key, payload = redis_push(self.app, self.config, envelope)
            pushes[envelope.id] = [("LPUSH", key, payload)]
        return pushes

    def create_and_enqueue(
        self,
        records: Sequence[Record],
        envelopes: Sequence[Envelope],
        *,
        now: float,
        idempotency_ttl: float,
    ) -> list[Record]:
        """Records, idempotency claims and Celery messages in one EVALSHA, all or nothing."""
        return self.store.create(
            records, now=now, idempotency_ttl=idempotency_ttl, writes=self._pushes(envelopes)
        )

    def enqueue(self, envelopes: Sequence[Envelope]) -> None:
        """Retries and recovered tasks: their records exist, so only the messages are written."""
        commands: list[Any] = [c for pushes in self._pushes(envelopes).values() for c in pushes]
        try:
            self.store.write(commands)
        except redis.RedisError as exc:
            raise EnqueueError(
                f"could not send {len(envelopes)} task(s) to {self.url.redacted()}: {exc}"
            ) from exc

    def queue_depth(self, queue: str) -> int:
        name = self.config.queue_name(queue)
        pipe = self.store.client.pipeline(transaction=False)
        for level in range(10):
            pipe.llen(redis_queue_key(name, level))
        try:
            return int(sum(pipe.execute()))
        except redis.RedisError as exc:
            raise EnqueueError(f"cannot reach {self.url.redacted()}: {exc}") from exc
