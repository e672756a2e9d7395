"""The hook recorder: a lifecycle-hook plugin that remembers every event, in this process or,
through a JSON-lines file, in the worker processes a test started."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from taskbridge._hooks import hookimpl

if TYPE_CHECKING:
    from taskbridge._record import Record

#: Set for worker processes so their hooks can be observed from the test process.
ENV_HOOK_LOG = "TASKBRIDGE_TEST_HOOK_LOG"
_WORKER_PLUGIN_NAME = "taskbridge.testing.recorder"

Event = tuple[str, str, str]


class HookRecorder:
    """Records ``(hook, id, status)`` for every lifecycle hook; appends to ``path`` if given."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<HookRecorder {len(self.events)} event(s)>"

    def of(self, id: str) -> list[str]:
        """The hooks seen for execution ``id``, in order."""
        return hooks_of(id, self.events)

    def _record(self, hook: str, record: Record) -> None:
        event = (hook, record.id, record.status.value)
        with self._lock:
            self.events.append(event)
            if self.path is not None:
                # One short write with O_APPEND per event keeps lines whole across processes.
                with self.path.open("a", encoding="utf-8") as log:
                    log.write(json.dumps(event) + "\n")

    @hookimpl
    def taskbridge_enqueued(self, record: Record) -> None:
        self._record("enqueued", record)

    @hookimpl
    def taskbridge_started(self, record: Record) -> None:
        self._record("started", record)

    @hookimpl
    def taskbridge_succeeded(self, record: Record) -> None:
        self._record("succeeded", record)

    @hookimpl
    def taskbridge_failed(self, record: Record) -> None:
        self._record("failed", record)

    @hookimpl
    def taskbridge_retrying(self, record: Record) -> None:
        self._record("retrying", record)

    @hookimpl
    def taskbridge_canceled(self, record: Record) -> None:
        self._record("canceled", record)


def hooks_of(id: str, events: Sequence[Event]) -> list[str]:
    """The hooks in ``events`` for execution ``id``, in order."""
    return [hook for hook, event_id, _ in events if event_id == id]


@contextlib.contextmanager
def recording_hooks(path: str | os.PathLike[str] | None = None) -> Iterator[HookRecorder]:
    """Register a :class:`HookRecorder` with this process's plugins during the block."""
    from taskbridge._plugins import plugin_manager

    recorder = HookRecorder(path)
    manager = plugin_manager()
    manager.register(recorder)
    try:
        yield recorder
    finally:
        manager.unregister(recorder)


def read_hook_log(path: str | os.PathLike[str]) -> list[Event]:
    """The events worker processes appended to ``path`` so far."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    events: list[Event] = []
    for line in text.splitlines():
        if line.strip():
            hook, id, status = json.loads(line)
            events.append((hook, id, status))
    return events


def install_from_environment() -> HookRecorder | None:
    """In a worker process: record hooks to the file ``$TASKBRIDGE_TEST_HOOK_LOG`` names (a
    tasks module calls this at import, so the test process sees the worker's hooks)."""
    path = os.environ.get(ENV_HOOK_LOG)
    if not path:
        return None
    from taskbridge._plugins import plugin_manager

    manager = plugin_manager()
    existing = manager.get_plugin(_WORKER_PLUGIN_NAME)
    if isinstance(existing, HookRecorder):
        return existing
    recorder = HookRecorder(path)
    manager.register(recorder, name=_WORKER_PLUGIN_NAME)
    return recorder
