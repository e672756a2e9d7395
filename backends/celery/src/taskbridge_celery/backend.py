"""``celery+redis://`` and ``celery+amqp://``: envelopes as Celery task messages, Celery workers."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from kombu.exceptions import KombuError

from taskbridge.plugin import (
    Backend,
    BackendURL,
    Capabilities,
    Envelope,
    RedisStore,
    StateStore,
    Worker,
)
from taskbridge_celery.app import create_app
from taskbridge_celery.config import CeleryConfig
from taskbridge_celery.messages import (
    celery_priority,
    redis_push,
    redis_queue_key,
    task_message,
)

logger = logging.getLogger("taskbridge.celery")

_THREADS_TIMEOUTS = (
    "Celery's threads pool runs tasks outside the main thread, where neither taskbridge's "
    "SIGALRM timeout nor Celery's time limits can interrupt them; run the worker with "
    "--pool prefork (the default) or --pool solo"
)

#: Celery's worker pools (``--pool``) and what each can do. gevent/eventlet need their own
#: packages and monkey-patching before anything else is imported, which an in-process start
#: cannot do.
POOLS: Mapping[str, Capabilities] = {
    "prefork": Capabilities(events=True),
    "solo": Capabilities(events=True),
    "threads": Capabilities(timeouts=False, events=True, reasons={"timeouts": _THREADS_TIMEOUTS}),
}


class CeleryBackend:
    """Celery on RabbitMQ (messages published through kombu's producer) or on Redis.

    Results and state live in the store (``?store=``, required with RabbitMQ), under the URL's
    ``namespace``, which also prefixes Celery's queue names. Constructing ``CeleryBackend`` with
    a Redis broker gives a :class:`RedisCeleryBackend`, which stores and sends in one round
    trip.
    """

    engine = "celery"
    pools: ClassVar[Mapping[str, Capabilities]] = POOLS
    url_options: ClassVar[frozenset[str]] = frozenset({"visibility_timeout"})

    def __new__(cls, url: BackendURL, *, store: StateStore | None = None) -> CeleryBackend:
        if cls is CeleryBackend and CeleryConfig.from_url(url).on_redis:
            cls = RedisCeleryBackend
        return super().__new__(cls)

    def __init__(self, url: BackendURL, *, store: StateStore | None = None) -> None:
        self.url = url
        self.config = CeleryConfig.from_url(url)
        self.store: StateStore = store or RedisStore(
            self.config.store_url, namespace=self.config.namespace
        )
        self.app = create_app(self.config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url.redacted()}>"

    def writes(self, envelopes: Sequence[Envelope], *, now: float) -> Mapping[str, Any] | None:
        return None

    def publish(self, envelopes: Sequence[Envelope]) -> None:
        """Publish through kombu's producer, one confirmed publish per envelope; a batch on
        RabbitMQ waits once for all its confirms (``confirms.publish_confirmed``)."""
        if len(envelopes) > 1 and not self.config.on_redis:
            from taskbridge_celery.confirms import publish_confirmed

            publish_confirmed(self.app, self.config, envelopes)
            return
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

    def run_worker(self, worker: Worker) -> None:
        from taskbridge_celery.worker import run_worker

        run_worker(self.app, self.config, worker)

    def cancel(self, envelope_id: str) -> None:
        """Celery's revoke, without terminate: a waiting message is skipped; a running task
        stops cooperatively through ``context.canceled``, which the store already relays."""
        try:
            self.app.control.revoke(envelope_id)
        except (OSError, KombuError):
            logger.warning("could not broadcast revoke for %s; the store's cancel stands",
                           envelope_id, exc_info=True)

    def queue_depth(self, queue: str) -> int:
        """Messages ready on the queue, by a passive declare (0 for a queue never declared)."""
        name = self.config.queue_name(queue)
        with self.app.connection_for_write() as connection:
            channel = connection.channel()
            try:
                return int(channel.queue_declare(queue=name, passive=True).message_count)
            except connection.channel_errors as exc:
                if getattr(exc, "code", None) == 404:
                    return 0
                raise

    def close(self) -> None:
        self.app.close()
        self.store.close()


class RedisCeleryBackend(CeleryBackend):
    """Celery on Redis: kombu's wire form written by the store's own script, atomically."""

    def __init__(self, url: BackendURL, *, store: StateStore | None = None) -> None:
        config = CeleryConfig.from_url(url)
        #: The broker's Redis, as a store: it runs the message writes atomically.
        self._queues = RedisStore(config.broker_url, namespace=config.namespace)
        if store is None and config.store_url == config.broker_url:
            store = self._queues
        super().__init__(url, store=store)

    def _pushes(self, envelopes: Sequence[Envelope]) -> dict[str, list[tuple[str, str, str]]]:
        pushes: dict[str, list[tuple[str, str, str]]] = {}
        for envelope in envelopes:
            key, payload = redis_push(self.app, self.config, envelope)
            pushes[envelope.id] = [("LPUSH", key, payload)]
        return pushes

    def writes(self, envelopes: Sequence[Envelope], *, now: float) -> Mapping[str, Any] | None:
        """kombu's LPUSHes, run in the store's script when the store is the broker's Redis:
        records, claims and Celery messages in one EVALSHA, all or nothing."""
        return self._pushes(envelopes) if self.store is self._queues else None

    def publish(self, envelopes: Sequence[Envelope]) -> None:
        """The LPUSHes in one atomic script on the broker (when the store lives elsewhere)."""
        self._queues.write([c for pushes in self._pushes(envelopes).values() for c in pushes])

    def queue_depth(self, queue: str) -> int:
        name = self.config.queue_name(queue)
        pipe = self._queues.client.pipeline(transaction=False)
        for level in range(10):
            pipe.llen(redis_queue_key(name, level))
        return int(sum(pipe.execute()))

    def close(self) -> None:
        super().close()
        if self._queues is not self.store:
            self._queues.close()


def _check_protocol(backend: CeleryBackend) -> Backend:
    return backend
