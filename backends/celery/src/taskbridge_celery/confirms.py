"""A batch of messages published to RabbitMQ with one wait for the broker's confirms.

With ``confirm_publish`` kombu's py-amqp transport waits for the broker's confirm after every
message: an ``enqueue_many`` of a thousand calls waited a thousand round trips (~280 enqueues/s
here). A batch goes out instead on a channel of its own in confirm mode without waiting, and the
confirms are awaited once at the end: RabbitMQ numbers a channel's messages from 1 and acks
them in order, one at a time or several at once (``multiple``), so the batch is confirmed once
the last number is acked. A nack, a timeout or a lost connection raise, and the core then
discards the batch's records, as for any failed publish.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from celery import Celery
from kombu.messaging import Producer

from taskbridge.plugin import Envelope
from taskbridge_celery.config import CeleryConfig
from taskbridge_celery.messages import celery_priority, task_message

#: Seconds to wait for a batch's confirms.
CONFIRM_TIMEOUT = 30.0


class NotConfirmed(ConnectionError):
    """RabbitMQ refused (nacked) or did not confirm a batch in time."""


def publish_confirmed(app: Celery, config: CeleryConfig, envelopes: Sequence[Envelope]) -> None:
    """Publish ``envelopes`` in one confirmed batch, or raise."""
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=2, interval_start=0, interval_step=0.2,
                                     interval_max=0.5)
        channel: Any = connection.channel()
        try:
            _confirm_at_the_end(channel)
            acked, nacked = _watch_confirms(channel)
            producer = Producer(channel)  # type: ignore[no-untyped-call]
            for envelope in envelopes:
                app.amqp.send_task_message(
                    producer, envelope.task_name, task_message(app, config, envelope),
                    queue=config.queue_name(envelope.queue),
                    priority=celery_priority(envelope.priority), retry=False,
                )
            deadline = time.monotonic() + CONFIRM_TIMEOUT
            while acked[0] < len(envelopes) and not nacked:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise NotConfirmed(
                        f"RabbitMQ confirmed {acked[0]} of {len(envelopes)} messages within "
                        f"{CONFIRM_TIMEOUT:g}s")
                connection.drain_events(timeout=left)
            if nacked:
                raise NotConfirmed(f"RabbitMQ refused (nacked) message {nacked[0]} of a batch "
                                   f"of {len(envelopes)}")
        finally:
            channel.close()


def _confirm_at_the_end(channel: Any) -> None:
    """Put a fresh py-amqp channel in confirm mode, publishing without a wait per message."""
    channel.confirm_select()
    channel._confirm_selected = True
    channel.basic_publish = channel._basic_publish


def _watch_confirms(channel: Any) -> tuple[list[int], list[int]]:
    """The highest message number acked so far (one-item list) and the nacked numbers."""
    acked, nacked = [0], []

    def on_ack(tag: int, multiple: bool) -> None:
        acked[0] = max(acked[0], tag)

    def on_nack(tag: int, multiple: bool) -> None:
        nacked.append(tag)

    channel.events["basic_ack"].add(on_ack)
    channel.events["basic_nack"].add(on_nack)
    return acked, nacked
