"""Test support for the Celery backend, registered in the ``taskbridge.testing`` entry-point
group: its conformance URLs, kombu's Redis entries outside a test namespace's own names, and
tidying up what a test namespace declared on RabbitMQ."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from taskbridge import hookimpl

#: Where the tests look for RabbitMQ.
AMQP = ("127.0.0.1", 5672)
AMQP_URL = f"amqp://guest:guest@{AMQP[0]}:{AMQP[1]}//"
#: kombu's sorted set of binding-table deadlines, shared by every namespace on one Redis; its
#: members are exchange names (``<ns>.control.pidbox``, ``reply.<ns>.control.pidbox``).
BINDING_DEADLINES = "_kombu.binding_deadlines"


@hookimpl
def taskbridge_conformance_urls(redis_url: str, workdir: Path) -> list[str]:
    """Redis as broker and store, and RabbitMQ as broker with a Redis store."""
    return [f"celery+{redis_url}", f"celery+{AMQP_URL}?store={redis_url}"]


@hookimpl
def taskbridge_test_redis_entries(client: Any, namespace: str) -> list[tuple[str, str | None]]:
    """The namespace's exchanges in kombu's binding deadlines (its lists, binding tables and
    unacked bookkeeping all carry the namespace in their names)."""
    entries: list[tuple[str, str | None]] = []
    for member, _score in client.zscan_iter(BINDING_DEADLINES, match=f"*{namespace}*"):
        text = member.decode() if isinstance(member, bytes) else member
        entries.append((BINDING_DEADLINES, text))
    return entries


@hookimpl
def taskbridge_delete_test_namespace(url: str, namespace: str, queues: list[str]) -> None:
    """A celery+amqp:// test namespace's queues and exchanges on RabbitMQ (durable: they stay
    behind otherwise)."""
    if url.startswith("celery+amqp"):
        broker = url.removeprefix("celery+").partition("?")[0]
        delete_amqp_entities(namespace, queues, broker)


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
