"""Envelopes as Celery protocol-2 task messages, and as the JSON kombu's Redis transport LPUSHes."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from celery import Celery
from kombu.serialization import dumps as kombu_dumps

from taskbridge import Envelope
from taskbridge_celery.app import MAX_PRIORITY
from taskbridge_celery.config import CeleryConfig

#: kombu's Redis transport separates a queue name from its priority level with these bytes.
REDIS_PRIORITY_SEPARATOR = "\x06\x16"
#: Seconds Celery's hard time limit waits past ``timeout`` before it kills the pool process;
#: the core's own TaskTimeout fires first, the kill is the backstop for code that swallows it.
HARD_LIMIT_GRACE = 5.0


def celery_priority(priority: int) -> int:
    """Map taskbridge's -100..100 (higher first) to Celery's 0..9 (higher first, as on RabbitMQ).

    0 has a level of its own (4), so any positive priority runs before the default and any
    negative one after it; the rest of each side is spread evenly over the remaining levels.
    """
    if priority > 0:
        return 5 + (min(priority, 100) - 1) * (MAX_PRIORITY - 5) // 99
    if priority < 0:
        return 3 - (min(-priority, 100) - 1) * 3 // 99
    return 4


def redis_priority(priority: int) -> int:
    """kombu's Redis transport polls level 0 first, so its scale is Celery's turned round."""
    return MAX_PRIORITY - celery_priority(priority)


def redis_queue_key(queue: str, level: int) -> str:
    """The Redis list kombu keeps ``queue``'s messages of priority ``level`` in."""
    return f"{queue}{REDIS_PRIORITY_SEPARATOR}{level}" if level else queue


def time_limits(envelope: Envelope) -> tuple[float | None, float | None]:
    """Celery's (hard, soft) time limits for an envelope: backstops behind the core's timeout."""
    if envelope.timeout is None:
        return None, None
    return envelope.timeout + HARD_LIMIT_GRACE, envelope.timeout + 1.0


def task_message(app: Celery, config: CeleryConfig, envelope: Envelope) -> Any:
    """The Celery protocol-2 message (headers, properties, body, sent-event) for an envelope.

    The envelope travels as the task's single positional argument; Celery's task id is the
    envelope id, and ``retries`` counts earlier attempts so Flower shows them.
    """
    hard, soft = time_limits(envelope)
    eta = None
    if envelope.run_at is not None:
        eta = datetime.fromtimestamp(envelope.run_at, tz=UTC)
    return app.amqp.create_task_message(
        envelope.id,
        envelope.task_name,
        [envelope.to_dict()],
        {},
        eta=eta,
        retries=envelope.attempt - 1,
        time_limit=hard,
        soft_time_limit=soft,
        ignore_result=True,
        argsrepr=f"[{envelope.task_name} {envelope.id} attempt {envelope.attempt}]",
        kwargsrepr="{}",
    )


def redis_push(app: Celery, config: CeleryConfig, envelope: Envelope) -> tuple[str, str]:
    """``(list key, payload)``: exactly what kombu's Redis transport would LPUSH for this task.

    That is kombu's virtual-transport message: the serialised body base64-encoded, the Celery
    headers, and properties carrying the delivery info and the priority level that decide which
    list it sits in (and where a restore after the visibility timeout puts it back).
    """
    headers, properties, body, _ = task_message(app, config, envelope)
    content_type, content_encoding, data = kombu_dumps(body, serializer="json")  # type: ignore[no-untyped-call]
    queue = config.queue_name(envelope.queue)
    level = redis_priority(envelope.priority)
    raw = data.encode(content_encoding) if isinstance(data, str) else data
    payload = {
        "body": base64.b64encode(raw).decode("ascii"),
        "content-encoding": content_encoding,
        "content-type": content_type,
        "headers": headers,
        "properties": {
            **properties,
            "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": queue},
            "priority": level,
            "body_encoding": "base64",
            "delivery_tag": str(uuid.uuid4()),
        },
    }
    return redis_queue_key(queue, level), json.dumps(payload)
