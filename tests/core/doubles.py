"""Test doubles of the *backend interface* (never of an engine), registered as a real plugin."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import attrs

from taskbridge import Capabilities, Envelope, hookimpl
from taskbridge._memory import MemoryBackend


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
