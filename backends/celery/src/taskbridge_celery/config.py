"""What a ``celery+redis://`` or ``celery+amqp://`` URL says: broker, store, namespace, options."""

from __future__ import annotations

from typing import Any

import attrs

from taskbridge import ConfigurationError
from taskbridge.plugin import BackendURL

REDIS_TRANSPORTS = ("redis", "rediss")
AMQP_TRANSPORTS = ("amqp", "pyamqp")
DEFAULT_VISIBILITY_TIMEOUT = 3600.0


@attrs.frozen
class CeleryConfig:
    """The parts of a Celery backend URL, checked."""

    broker_url: str
    store_url: str
    namespace: str = "taskbridge"
    #: Redis transport: seconds before an unacknowledged message is handed out again.
    visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT

    @property
    def on_redis(self) -> bool:
        """True when the broker is Redis, the same server as the store."""
        return self.broker_url.split("://", 1)[0] in REDIS_TRANSPORTS

    def queue_name(self, queue: str) -> str:
        """The Celery queue a taskbridge queue maps to; namespaced so deployments don't mix."""
        return f"{self.namespace}.{queue}"

    def transport_options(self) -> dict[str, Any]:
        """kombu transport options: ten priority levels, and unacked bookkeeping of our own."""
        if not self.on_redis:
            return {"confirm_publish": True}
        # Sweep for expired unacknowledged messages at least twice per visibility timeout,
        # so the timeout means what it says (kombu's default sweep is every ~100 s).
        sweep = max(1.0, min(10.0, self.visibility_timeout / 2))
        return {
            "priority_steps": list(range(10)),
            "queue_order_strategy": "priority",
            "visibility_timeout": self.visibility_timeout,
            "unacked_restore_interval": sweep,
            "unacked_restore_throttle": 1,
            "unacked_key": f"{self.namespace}:unacked",
            "unacked_index_key": f"{self.namespace}:unacked_index",
            "unacked_mutex_key": f"{self.namespace}:unacked_mutex",
        }

    @classmethod
    def from_url(cls, url: BackendURL) -> CeleryConfig:
        """Check a parsed URL; every mistake is a ``ConfigurationError`` saying how to fix it."""
        transport = url.transport
        example = ("celery+redis://127.0.0.1:6379/0 or "
                   "celery+amqp://guest:guest@127.0.0.1:5672//?store=redis://127.0.0.1:6379/0")
        if transport not in REDIS_TRANSPORTS + AMQP_TRANSPORTS:
            raise ConfigurationError(
                f"{url.redacted()}: Celery backend supports the redis and amqp transports, "
                f"not {transport!r}; use {example}"
            )
        namespace = url.namespace
        store = url.options.get("store")
        if transport in REDIS_TRANSPORTS:
            store = store or url.transport_url
        elif not store:
            raise ConfigurationError(
                f"{url.redacted()}: RabbitMQ carries the messages, but results and state need "
                "a store; add ?store=redis://HOST:6379/0 (or sqlite:///..., postgresql://...) "
                "to the URL"
            )
        return cls(
            broker_url=url.transport_url,
            store_url=store,
            namespace=namespace,
            visibility_timeout=_seconds(url, "visibility_timeout", DEFAULT_VISIBILITY_TIMEOUT),
        )


def _seconds(url: BackendURL, name: str, default: float) -> float:
    raw = url.options.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise ConfigurationError(
            f"{url.redacted()}: {name}={raw!r} must be a positive number of seconds"
        )
    return value
