"""Huey on Redis: records, idempotency claims and Huey messages written in one Lua script."""

from __future__ import annotations

import inspect
import struct
import time
from collections.abc import Sequence
from typing import Any

import redis
from huey.storage import PriorityRedisStorage

from taskbridge import EnqueueError, Envelope, Record, StateStore
from taskbridge.plugin import Commands, RedisStore
from taskbridge_huey._huey import TaskbridgeHuey
from taskbridge_huey._serializer import message_for
from taskbridge_huey.backend import HueyBackend, is_delayed

# Older Huey releases strip everything but letters, digits and '_' from queue names, which
# would merge the queues "a.b" and "ab"; where Huey lets us, keep names as given.
_KEEP_NAMES = (
    {"clean_name": False}
    if "clean_name" in inspect.signature(PriorityRedisStorage.__init__).parameters
    else {}
)


class RedisHueyBackend(HueyBackend):
    """``huey+redis://host:port/db``: PriorityRedisStorage queues and a RedisStore, sharing
    one connection pool; enqueueing is one atomic script per batch."""

    def _connect(self) -> StateStore:
        self._pool = redis.ConnectionPool.from_url(self.url.transport_url)
        self.redis = redis.Redis(connection_pool=self._pool)
        self.redis_store = RedisStore(self.redis, namespace=self.namespace)
        return self.redis_store

    def _make_huey(self, queue: str, name: str) -> TaskbridgeHuey:
        # Blocking reads (BZPOPMIN, 1 s) pick a task up as soon as it is pushed.
        return TaskbridgeHuey(queue, name, PriorityRedisStorage, connection_pool=self._pool,
                              blocking=True, read_timeout=1, **_KEEP_NAMES)

    def commands(self, envelopes: Sequence[Envelope]) -> dict[str, list[list[Any]]]:
        """The Redis writes Huey itself would make for each envelope, by envelope id.

        Mirrors ``PriorityRedisStorage.enqueue`` (ZADD on the queue, score ``-priority``,
        member prefixed with an 8-byte big-endian microsecond timestamp so equal priorities
        stay first-in first-out) and ``RedisStorage.add_to_schedule`` (ZADD on the schedule,
        scored by the eta as Huey converts it).
        """
        now = time.time()
        stamp = int(now * 1e6)
        commands: dict[str, list[list[Any]]] = {}
        for offset, envelope in enumerate(envelopes):
            storage = self.huey(envelope.queue).storage
            message = message_for(envelope)
            data = self.huey(envelope.queue).serializer.serialize(message)
            if is_delayed(envelope, now):
                score = repr(float(storage.convert_ts(message.eta)))
                command = ["ZADD", storage.schedule_key, score, data]
            else:
                # One microsecond apart within a batch keeps the batch's own order.
                member = struct.pack(">Q", stamp + offset) + data
                command = ["ZADD", storage.queue_key, str(-envelope.priority), member]
            commands.setdefault(envelope.id, []).append(command)
        return commands

    def _send(self, envelopes: Sequence[Envelope]) -> None:
        batch: Commands = [c for group in self.commands(envelopes).values() for c in group]
        try:
            self.redis_store.write(batch)
        except redis.RedisError as exc:
            raise EnqueueError(
                f"could not send {len(envelopes)} Huey message(s) to {self.url.redacted()}: "
                f"{exc}"
            ) from exc

    def create_and_enqueue(
        self,
        records: Sequence[Record],
        envelopes: Sequence[Envelope],
        *,
        now: float,
        idempotency_ttl: float,
    ) -> list[Record]:
        """Records, idempotency claims and Huey messages in one script, all or nothing: a
        deduplicated record's message is never written."""
        return self.redis_store.create(
            records, now=now, idempotency_ttl=idempotency_ttl, writes=self.commands(envelopes)
        )

    def close(self) -> None:
        super().close()
        self._pool.disconnect()
