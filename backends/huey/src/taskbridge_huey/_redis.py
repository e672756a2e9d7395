"""Huey on Redis: records, idempotency claims and Huey messages written in one Lua script."""

from __future__ import annotations

import inspect
import struct
import time
from collections.abc import Mapping, Sequence
from typing import Any

import redis
from huey.storage import PriorityRedisStorage

from taskbridge.plugin import Envelope, RedisStore, StateStore
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

    def _connect(self) -> None:
        self._pool = redis.ConnectionPool.from_url(self.url.transport_url)
        self.redis = redis.Redis(connection_pool=self._pool)
        #: Huey's Redis, as a store: it runs the message writes atomically.
        self._queues = RedisStore(self.redis, namespace=self.namespace)

    def _natural_store(self) -> StateStore:
        return self._queues

    def _make_huey(self, queue: str, name: str) -> TaskbridgeHuey:
        # Blocking reads (BZPOPMIN, 1 s) pick a task up as soon as it is pushed.
        return TaskbridgeHuey(queue, name, PriorityRedisStorage, connection_pool=self._pool,
                              blocking=True, read_timeout=1, **_KEEP_NAMES)

    def _commands(self, envelopes: Sequence[Envelope], now: float) -> dict[str, list[Any]]:
        """The Redis writes Huey itself would make for each envelope, by envelope id.

        Mirrors ``PriorityRedisStorage.enqueue`` (ZADD on the queue, score ``-priority``,
        member prefixed with an 8-byte big-endian microsecond timestamp so equal priorities
        stay first-in first-out) and ``RedisStorage.add_to_schedule`` (ZADD on the schedule,
        scored by the eta as Huey converts it).
        """
        stamp = int(now * 1e6)
        commands: dict[str, list[Any]] = {}
        for offset, envelope in enumerate(envelopes):
            huey = self.huey(envelope.queue)
            message = message_for(envelope)
            data = huey.serializer.serialize(message)
            if is_delayed(envelope, now):
                score = repr(float(huey.storage.convert_ts(message.eta)))
                command = ["ZADD", huey.storage.schedule_key, score, data]
            else:
                # One microsecond apart within a batch keeps the batch's own order.
                member = struct.pack(">Q", stamp + offset) + data
                command = ["ZADD", huey.storage.queue_key, str(-envelope.priority), member]
            commands[envelope.id] = [command]
        return commands

    def writes(self, envelopes: Sequence[Envelope], *, now: float) -> Mapping[str, Any] | None:
        """Huey's commands, run in the store's script when the store is this same Redis:
        records, claims and messages in one round trip, and a deduplicated record's message is
        never written."""
        return self._commands(envelopes, now) if self.store is self._queues else None

    def publish(self, envelopes: Sequence[Envelope]) -> None:
        """Huey's commands in one atomic script on Huey's Redis (the store lives elsewhere)."""
        commands = self._commands(envelopes, time.time())
        self._queues.write([command for group in commands.values() for command in group])

    def close(self) -> None:
        super().close()
        self._pool.disconnect()
