"""Test doubles of the *backend interface* (never of an engine), registered as a real plugin."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import attrs

from taskbridge import Capabilities, Envelope, hookimpl
from taskbridge._memory import MemoryBackend
from taskbridge._record import Record


class RefusingBackend(MemoryBackend):
    """memory:// whose broker is down until ``refuse`` is switched off."""

    engine = "refusing"

    def __init__(self, url: Any = None, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self.refuse = True

    def publish(self, envelopes: Sequence[Envelope]) -> None:
        if self.refuse:
            raise ConnectionError("broker down")
        super().publish(envelopes)


class LimitedBackend(MemoryBackend):
    """memory:// declaring it can neither order, time out, nor delay tasks."""

    engine = "limited"
    pools: ClassVar[Mapping[str, Capabilities]] = {
        "inline": attrs.evolve(
            MemoryBackend.pools["inline"],
            priority=False,
            timeouts=False,
            delays=False,
            reasons={
                "priority": "limited has one FIFO per queue",
                "timeouts": "limited cannot stop a running task",
                "delays": "limited has no scheduler",
            },
        ),
    }


class BackendsPlugin:
    """A third-party style plugin providing the doubles' engines."""

    @hookimpl
    def taskbridge_backends(self) -> dict[str, Any]:
        return {"refusing": RefusingBackend, "limited": LimitedBackend}


class Recorder:
    """A lifecycle plugin that remembers every event it sees as (event, id, status)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def _add(self, event: str, record: Record) -> None:
        self.events.append((event, record.id, record.status.value))

    def of(self, id: str) -> list[str]:
        """The events seen for one execution, in order."""
        return [event for event, seen, _ in self.events if seen == id]

    @hookimpl
    def taskbridge_enqueued(self, record: Record) -> None:
        self._add("enqueued", record)

    @hookimpl
    def taskbridge_started(self, record: Record) -> None:
        self._add("started", record)

    @hookimpl
    def taskbridge_succeeded(self, record: Record) -> None:
        self._add("succeeded", record)

    @hookimpl
    def taskbridge_failed(self, record: Record) -> None:
        self._add("failed", record)

    @hookimpl
    def taskbridge_retrying(self, record: Record) -> None:
        self._add("retrying", record)

    @hookimpl
    def taskbridge_canceled(self, record: Record) -> None:
        self._add("canceled", record)
