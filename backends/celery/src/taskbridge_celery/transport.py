"""kombu's Redis transport, made to drop (and log) list items that are not kombu messages,
and to survive losing Redis while a message is unacknowledged.

Stock kombu parses each popped item as JSON inside its read loop; one malformed item pushed
into a queue by hand (or one nested too deep for the JSON decoder) raises there and takes the
whole Celery worker down. Here such an item is logged with its content and skipped; the worker
goes on.
"""

from __future__ import annotations

import json
import logging
from queue import Empty
from typing import Any

from kombu.transport import redis as kombu_redis

logger = logging.getLogger("taskbridge.celery")

_DROPPED = ("dropped an item from %s that is not a kombu message and can never run "
            "(%s); it was: %.500r")
_TOO_DEEP = ("dropped an item from %s that is nested too deep for JSON to parse and can never "
             "run (taskbridge never writes one)")


def _problem(payload: Any) -> str | None:
    """Why ``payload`` cannot be a kombu virtual-transport message, or None if it can."""
    if not isinstance(payload, dict):
        return f"a JSON {type(payload).__name__}, not an object"
    properties = payload.get("properties")
    if not isinstance(properties, dict) or "delivery_tag" not in properties:
        return "no properties with a delivery_tag"
    info = properties.get("delivery_info")
    if not isinstance(info, dict) or not {"exchange", "routing_key"} <= info.keys():
        return "no delivery_info with exchange and routing_key"
    if not isinstance(payload.get("headers") or {}, dict):
        return "headers are not an object"
    if not isinstance(payload.get("body", ""), str):
        return "body is not a string"
    return None


class Channel(kombu_redis.Channel):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._last_params: dict[bool, dict[str, Any]] = {}
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]

    def _connparams(self, asynchronous: bool = False) -> Any:
        # When Redis goes away, Celery's consumer detaches the transport from its kombu
        # Connection (collect) and then closes this channel, which builds a new pool to put
        # unacknowledged messages back; stock kombu reads the pool's parameters from the
        # detached Connection, dies with AttributeError and takes the worker down (kombu
        # issues #582, #970). The parameters of the last pool still describe the server.
        if self.connection.client is None and asynchronous in self._last_params:
            return dict(self._last_params[asynchronous])
        params = super()._connparams(asynchronous)  # type: ignore[no-untyped-call]
        self._last_params[asynchronous] = dict(params)
        return params

    def _brpop_read(self, **options: Any) -> Any:
        try:
            return super()._brpop_read(**options)  # type: ignore[no-untyped-call]
        except json.JSONDecodeError as exc:
            logger.error(_DROPPED, "a queue", "not JSON", exc.doc)
            raise Empty() from exc
        except RecursionError as exc:
            logger.error(_TOO_DEEP, "a queue")
            raise Empty() from exc

    def _get(self, queue: str, timeout: Any = None) -> Any:
        while True:
            try:
                payload = super()._get(queue)  # type: ignore[no-untyped-call]
            except json.JSONDecodeError as exc:
                logger.error(_DROPPED, queue, "not JSON", exc.doc)
                continue
            except RecursionError:
                logger.error(_TOO_DEEP, queue)
                continue
            problem = _problem(payload)
            if problem is None:
                return payload
            logger.error(_DROPPED, queue, problem, payload)


class Transport(kombu_redis.Transport):
    """``broker_transport`` for Celery on Redis: the stock transport with :class:`Channel`."""

    Channel = Channel

    def _deliver(self, message: Any, queue: str) -> Any:
        problem = _problem(message)
        if problem is not None:
            logger.error(_DROPPED, queue, problem, message)
            return None
        try:
            return super()._deliver(message, queue)  # type: ignore[no-untyped-call]
        except self.connection_errors:
            raise
        except Exception as exc:
            # kombu could not even build a Message (say, a body that is not valid base64);
            # Celery's consumer, which handles everything past that point, never saw it.
            logger.error(_DROPPED, queue, repr(exc), message, exc_info=True)
            return None
