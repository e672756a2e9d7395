"""The Celery application a taskbridge bridge drives: strict JSON, late acks, no result backend.

It is also what Celery's own command line and Flower load, without a module of yours::

    TASKBRIDGE_URL=celery+redis://host:6379/0 celery -A taskbridge_celery.app inspect ping
    TASKBRIDGE_URL=... celery -A taskbridge_celery.app flower

``app`` (this module's attribute, built on first use) is the Celery app of the bridge
``TASKBRIDGE_URL`` and the other ``TASKBRIDGE_*`` settings configure: the same broker,
namespaced queues and control and event exchanges the workers use.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from taskbridge import Bridge, ConfigurationError
from taskbridge_celery.config import CeleryConfig

#: Celery's priority range on both transports (RabbitMQ queues declare x-max-priority=10).
MAX_PRIORITY = 9


def create_app(config: CeleryConfig) -> Celery:
    """A Celery app for one bridge; never made the process's current app.

    There is no result backend: results, statuses and errors live in taskbridge's store, which
    every process already reads; a Celery backend would be a second, diverging copy, and its
    ``AsyncResult`` reports unknown ids as PENDING where taskbridge must raise ``ResultNotFound``.
    """
    app = Celery(
        f"taskbridge-{config.namespace}",
        broker=config.broker_url,
        set_as_current=False,
    )
    app.conf.update(
        # Strict JSON: a pickled or otherwise foreign message is refused, never executed.
        accept_content=["json"],
        task_serializer="json",
        result_serializer="json",
        result_accept_content=["json"],
        event_serializer="json",
        result_backend=None,
        task_ignore_result=True,
        task_store_errors_even_if_ignored=False,
        # Acknowledge after the attempt: a worker killed mid-task leaves its message to be
        # delivered again, and the store's start() guard refuses to run that attempt twice.
        task_acks_late=True,
        task_acks_on_failure_or_timeout=True,
        task_reject_on_worker_lost=False,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options=config.transport_options(),
        # On Redis, a transport that skips list items which are not kombu messages.
        broker_transport="taskbridge_celery.transport:Transport" if config.on_redis else None,
        task_queue_max_priority=MAX_PRIORITY + 1,
        task_default_priority=None,
        task_default_queue=config.queue_name("default"),
        task_create_missing_queues=True,
        # Separate control and event exchanges per namespace: inspect, revoke and events only
        # reach this deployment's workers.
        control_exchange=f"{config.namespace}.control",
        event_exchange=f"{config.namespace}.events",
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_consumer="taskbridge_celery.worker_app:TaskbridgeConsumer",
        enable_utc=True,
        timezone="UTC",
    )
    return app


_bridge: Bridge | None = None


def bridge_app() -> Celery:
    """The Celery app of the bridge the environment configures (``TASKBRIDGE_URL``, ...), its
    tasks registered under their names; built once per process."""
    global _bridge
    if _bridge is None:
        from taskbridge_celery.backend import CeleryBackend
        from taskbridge_celery.worker_app import register_tasks

        bridge = Bridge()
        if not isinstance(bridge.backend, CeleryBackend):
            bridge.close()
            raise ConfigurationError(
                f"taskbridge_celery.app needs a Celery URL, but the configuration names "
                f"{bridge.url.redacted()}; set TASKBRIDGE_URL=celery+redis://... or "
                "celery+amqp://...?store=..."
            )
        register_tasks(bridge.backend.app)
        _bridge = bridge
    return _bridge.backend.app  # type: ignore[attr-defined]


def __getattr__(name: str) -> Any:
    # Built on first use, so that importing this module (every Celery bridge does) connects
    # nothing: only ``celery -A taskbridge_celery.app`` and Flower ask for ``app``.
    if name == "app":
        return bridge_app()
    raise AttributeError(f"module 'taskbridge_celery.app' has no attribute {name!r}")
