"""Native Dramatiq: a Redis broker with the Results middleware, and one no-op actor.

Workers run ``dramatiq benchmarks.native.dramatiq_app --queues …``; the harness sets the Redis
URL and the queue through the environment, and builds its own producer brokers with
:func:`build` so every phase gets a fresh queue. Every key lives under :data:`NAMESPACE`.
"""

from __future__ import annotations

import os
from typing import Any

from benchmarks import stamps
from benchmarks.native import DRAMATIQ_QUEUE_ENV, REDIS_ENV

ACTOR_NAME = "bench_native_noop"
#: The prefix of every key the broker and the result backend write.
NAMESPACE = "tbbench-dramatiq"


def noop(i: int) -> int:
    """Do nothing but leave a completion stamp; return the argument."""
    stamps.record()
    return i


def build(redis_url: str, queue: str) -> tuple[Any, Any]:
    """A ``RedisBroker`` (results on the same Redis) and the no-op actor on ``queue``,
    returned as ``(broker, actor)``; the broker also becomes Dramatiq's global one."""
    import dramatiq
    from dramatiq.brokers.redis import RedisBroker
    from dramatiq.results import Results
    from dramatiq.results.backends import RedisBackend

    broker = RedisBroker(url=redis_url, namespace=NAMESPACE)
    broker.add_middleware(Results(backend=RedisBackend(url=redis_url,
                                                       namespace=f"{NAMESPACE}-results")))
    dramatiq.set_broker(broker)
    actor = dramatiq.actor(actor_name=ACTOR_NAME, queue_name=queue, broker=broker,
                           store_results=True)(noop)
    return broker, actor


def _from_environment() -> Any:
    queue = os.environ.get(DRAMATIQ_QUEUE_ENV)
    if queue is None:
        return None
    broker, _ = build(os.environ[REDIS_ENV], queue)
    return broker


#: The broker ``dramatiq benchmarks.native.dramatiq_app`` runs (None outside a worker).
broker = _from_environment()
