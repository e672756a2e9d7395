"""One Huey instance per taskbridge queue, whose registry names every taskbridge task."""

from __future__ import annotations

import logging
from typing import Any

from huey import Huey
from huey.api import Task as HueyTask
from huey.exceptions import HueyException
from huey.registry import Registry

from taskbridge.plugin import Envelope, current_worker, registered_tasks
from taskbridge_huey import _poison
from taskbridge_huey._serializer import JSONSerializer, message_for

logger = logging.getLogger("taskbridge.huey")

#: How Huey names a task's revoke flag (``Task.revoke_id``: ``r:<task id>``).
REVOKE_PREFIX = "r:"


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
        fallback = self.task(name="unregistered", taskbridge_name="taskbridge_huey.unregistered")
        wrapper = fallback(self._runner())
        wrapper.unregister()
        self._registry.fallback = wrapper.task_class
        self.sync_registry()

    def _runner(self) -> Any:
        def run_envelope(envelope: Envelope) -> None:
            # Each thread or forked process names itself (host:pid:thread) in the record; a
            # store failure delivers the message again (Huey has already dequeued it).
            current_worker().execute(envelope)

        return run_envelope

    def execute(self, task: Any, timestamp: Any = None) -> Any:
        try:
            return super().execute(task, timestamp)
        except Exception:
            # Before running a task Huey reads its storage itself (is the task revoked?); when
            # that fails Huey drops the message, so it is delivered again if it never started.
            envelope = task.args[0] if task.args else None
            if not isinstance(envelope, Envelope):
                raise
            logger.exception("Huey failed before running %s [%s]", envelope.task_name,
                             envelope.id)
            current_worker().redeliver(envelope)
            return None

    # -- cancel lives in the store ------------------------------------------------------------
    # Huey reads two revoke flags from its storage before every task and deletes one after it:
    # two round trips per task, the delete a write transaction on SQLite. taskbridge never sets
    # them (``HueyBackend.cancel``): the store's ``start`` refuses a canceled execution.

    def is_revoked(self, task: Any, timestamp: Any = None, peek: bool = True) -> bool:
        return False

    def delete(self, key: str) -> Any:
        if key.startswith(REVOKE_PREFIX):  # Huey clears a task's revoke flag after each run
            return False
        return super().delete(key)

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
            _poison.report(self.name, data, exc)
            return None

    def dequeue(self) -> HueyTask | None:
        data = self.storage.dequeue()
        return None if data is None else self.read(data)

    def read_schedule(self, timestamp: Any = None) -> list[HueyTask]:
        if timestamp is None:
            timestamp = self._get_timestamp()
        tasks = (self.read(data) for data in self.storage.read_schedule(timestamp))
        return [task for task in tasks if task is not None]
