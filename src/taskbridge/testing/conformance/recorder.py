"""A lifecycle-hook plugin that records events, in memory or as JSON lines in a shared file."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from taskbridge._hooks import hookimpl

if TYPE_CHECKING:
    from taskbridge._record import Record

#: Set for worker processes so their hooks can be observed from the test process.
ENV_HOOK_LOG = "TASKBRIDGE_CONFORMANCE_HOOK_LOG"


class HookRecorder:
    """Records ``(hook, id, status)`` for every lifecycle hook; appends to ``path`` if given."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.events: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()

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


def read_log(path: str | os.PathLike[str]) -> list[tuple[str, str, str]]:
    """The events worker processes appended to ``path`` so far."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [tuple(json.loads(line)) for line in text.splitlines() if line.strip()]


def install_from_environment() -> HookRecorder | None:
    """In a worker started by the harness: record hooks to the file it named."""
    path = os.environ.get(ENV_HOOK_LOG)
    if not path:
        return None
    from taskbridge._plugins import plugin_manager

    manager = plugin_manager()
    existing = manager.get_plugin("taskbridge.conformance.recorder")
    if existing is not None:
        return existing  # type: ignore[no-any-return]
    recorder = HookRecorder(path)
    manager.register(recorder, name="taskbridge.conformance.recorder")
    return recorder
