"""Test helpers for the Celery backend: tidy up what a test namespace declared on RabbitMQ."""

from __future__ import annotations

import socket
from collections.abc import Sequence

#: Where the tests look for RabbitMQ.
AMQP = ("127.0.0.1", 5672)
AMQP_URL = f"amqp://guest:guest@{AMQP[0]}:{AMQP[1]}//"


def amqp_available(address: tuple[str, int] = AMQP) -> bool:
    """Whether a broker answers on ``address`` (tests skip with a reason when not)."""
    try:
        with socket.create_connection(address, timeout=0.5):
            return True
    except OSError:
        return False


def delete_amqp_entities(
    namespace: str, queues: Sequence[str], broker_url: str = AMQP_URL
) -> None:
    """Delete the RabbitMQ queues and exchanges a test namespace declared (durable ones stay
    behind otherwise); entities never declared are skipped."""
    from kombu.connection import Connection

    names = [f"{namespace}.{queue}" for queue in queues]
    exchanges = [*names, f"{namespace}.control.pidbox", f"reply.{namespace}.control.pidbox",
                 f"{namespace}.events"]
    with Connection(broker_url) as connection:  # type: ignore[no-untyped-call]
        for kind, name in [("queue", n) for n in names] + [("exchange", e) for e in exchanges]:
            channel = connection.channel()
            try:
                if kind == "queue":
                    channel.queue_delete(name)
                else:
                    channel.exchange_delete(name)
            except connection.channel_errors:
                pass  # never declared
            finally:
                channel.close()
