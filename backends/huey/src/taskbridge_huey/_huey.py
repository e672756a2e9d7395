"""One Huey instance per taskbridge queue, whose registry names every taskbridge task."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import attrs
from huey import Huey
from huey.api import Task as HueyTask
from huey.exceptions import HueyException
from huey.registry import Registry

from taskbridge import Envelope
from taskbridge.plugin import execute, registered_tasks, worker_name
from taskbridge_huey import _poison
from taskbridge_huey._serializer import JSONSerializer, message_for

if TYPE_CHECKING:
    from taskbridge import Bridge

logger = logging.getLogger("taskbridge.huey")

#: Seconds before a message whose run hit a store error is delivered again.
REDELIVERY_DELAY = 1.0
#: How long a redelivery keeps trying to write the message while its storage fails.
REDELIVERY_WAIT = 25.0
REDELIVERY_PAUSE = 0.5


class TaskbridgeRegistry(Registry):  # type: ignore[misc]
    """Huey's registry, keyed by taskbridge task names instead of ``module.ClassName``."""

    def __init__(self) -> None:
        super().__init__()
        self.fallback: type[HueyTask] | None = None

    def task_to_string(self, task_class: type[HueyTask]) -> str:
        name = getattr(task_class, "taskbridge_name", None)
        return name if isinstance(name, str) else str(super().task_to_string(task_class))

    def string_to_task(self, task_str: str) -> type[HueyTask]:
        try:
            return super().string_to_task(task_str)  # type: ignore[no-any-return]
        except HueyException:
            # A name this worker does not know still goes through the core, which records
            # it as FAILED with TaskNotRegistered instead of Huey dropping the message.
            if self.fallback is None:
                raise
            return self.fallback


class TaskbridgeHuey(Huey):  # type: ignore[misc]
    """A Huey for one taskbridge queue: JSON on the wire, no Huey results or retries.

    Huey's result store and retries are deliberately off: Huey has no statuses (a result is
    either there or not), and its default result read is destructive (``Result.get`` pops the
    value), so a second reader would see nothing. Statuses, values and retries live in the
    taskbridge store; a retry is a new envelope sent with a ``run_at``.
    """

    def __init__(self, queue: str, name: str, storage_class: type[Any],
                 **storage_kwargs: Any) -> None:
        super().__init__(name, results=False, utc=True, serializer=JSONSerializer(),
                         storage_class=storage_class, **storage_kwargs)
        self.queue = queue
        self._registry = TaskbridgeRegistry()
        #: Set by the worker; a producer-side instance never runs tasks.
        self.bridge: Bridge | None = None
        fallback = self.task(name="unregistered", taskbridge_name="taskbridge_huey.unregistered")
        wrapper = fallback(self._runner())
        wrapper.unregister()
        self._registry.fallback = wrapper.task_class
        self.sync_registry()

    def _runner(self) -> Any:
        def run_envelope(envelope: Envelope) -> None:
            if self.bridge is None:
                raise RuntimeError(f"Huey queue {self.name} has no worker bridge attached")
            try:
                # Each thread or forked process names itself (host:pid:thread) in the record.
                execute(self.bridge, envelope, worker=worker_name())
            except Exception:
                self._redeliver(envelope)


        return run_envelope

    def execute(self, task: Any, timestamp: Any = None) -> Any:
        try:
            return super().execute(task, timestamp)
        except Exception:
            # Before running a task Huey reads its storage itself (is the task revoked?);
            # when that fails Huey drops the message, so it is delivered again like a run
            # that hit a store error.
            envelope = task.args[0] if task.args else None
            if not isinstance(envelope, Envelope):
                raise
            self._redeliver(envelope)
            return None

    def _redeliver(self, envelope: Envelope) -> None:
        # execute() raises only when the store failed; Huey would drop the message, so it is
        # sent again shortly. Running it twice is safe: the store's start() lets one attempt
        # through at most once, whatever the number of deliveries.
        logger.exception("the store failed while running %s [%s]; delivering it again in %gs",
                         envelope.task_name, envelope.id, REDELIVERY_DELAY)
        # On Redis the queue is on the server that just failed: keep trying for a while, so a
        # restart does not drop a message whose record is still waiting to run.
        deadline = time.monotonic() + REDELIVERY_WAIT
        while True:
            later = message_for(attrs.evolve(envelope, run_at=time.time() + REDELIVERY_DELAY))
            try:
                self.storage.add_to_schedule(self.serializer.serialize(later), later.eta)
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                logger.warning("could not deliver %s [%s] again yet; retrying", envelope.task_name,
                               envelope.id, exc_info=True)
                time.sleep(REDELIVERY_PAUSE)

    def sync_registry(self) -> list[str]:
        """Register every taskbridge task not yet in Huey's registry; returns the new names."""
        known = self._registry._registry
        added = []
        for name in sorted(registered_tasks()):
            if name not in known:
                # Split so Huey's logs read "module.function: <id>" like its own tasks.
                module, _, short = name.rpartition(".")
                settings = {"__module__": module or "taskbridge", "taskbridge_name": name}
                self.task(name=short, **settings)(self._runner())
                added.append(name)
        return added

    def task_names(self) -> list[str]:
        """The names in Huey's registry (what ``huey_consumer`` lists as its commands)."""
        return sorted(self._registry._registry)

    # -- the wire -------------------------------------------------------------------------

    def serialize_task(self, task: HueyTask) -> bytes:
        # Built from the envelope rather than the task class, so a message for a task this
        # process does not know (the fallback class) can still be re-scheduled intact.
        envelope = task.args[0]
        message = message_for(envelope)._replace(eta=task.eta, priority=task.priority)
        return self.serializer.serialize(message)  # type: ignore[no-any-return]

    def read(self, data: bytes) -> HueyTask | None:
        """Turn stored bytes into a task; report and skip anything that is not ours."""
        try:
            return self.deserialize_task(data)
        except Exception as exc:  # nothing unreadable may stop the consumer
            _poison.report(self.bridge, self.name, data, exc, worker=worker_name())
            return None

    def dequeue(self) -> HueyTask | None:
        data = self.storage.dequeue()
        return None if data is None else self.read(data)

    def read_schedule(self, timestamp: Any = None) -> list[HueyTask]:
        if timestamp is None:
            timestamp = self._get_timestamp()
        tasks = (self.read(data) for data in self.storage.read_schedule(timestamp))
        return [task for task in tasks if task is not None]
