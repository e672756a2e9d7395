"""``memory://``: runs tasks inside the producer's process, for tests and scripts."""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import heapq
import itertools
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from taskbridge._backend import Backend, Capabilities
from taskbridge._config import BackendURL
from taskbridge._envelope import Envelope
from taskbridge._execution import execute, worker_name
from taskbridge._hooks import hookimpl
from taskbridge._stores.base import StateStore
from taskbridge._stores.memory import MemoryStore

if TYPE_CHECKING:
    from taskbridge._bridge import Bridge
    from taskbridge._worker import Worker


#: How many sent envelopes ``MemoryBackend.sent`` keeps for tests to look at.
KEEP_SENT = 10_000


class MemoryBackend:
    """Envelopes wait in a priority heap per process; ``run_pending`` runs them in order.

    Ordering: higher priority first, then first in; a delayed envelope waits until due.
    """

    engine = "memory"
    pools: ClassVar[Mapping[str, Capabilities]] = {
        "inline": Capabilities(
            worker_processes=False,
            in_process=True,
            reasons={"worker_processes": "memory:// runs tasks in the producer's own process"},
        ),
    }
    url_options: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, url: BackendURL | None = None, *, store: StateStore | None = None) -> None:
        self.store: StateStore = store or MemoryStore()
        self._lock = threading.RLock()
        self._heap: list[tuple[int, int, Envelope]] = []
        self._counter = itertools.count()
        self._draining = threading.local()
        #: The latest envelopes sent (at most ``KEEP_SENT``), oldest first, for tests.
        self.sent: collections.deque[Envelope] = collections.deque(maxlen=KEEP_SENT)

    def writes(self, envelopes: Sequence[Envelope], *, now: float) -> None:
        return None

    def publish(self, envelopes: Sequence[Envelope]) -> None:
        with self._lock:
            for sent in envelopes:
                # Through the wire form, as every real backend does: tuples arrive as lists.
                envelope = Envelope.loads(sent.dumps())
                heapq.heappush(self._heap, (-envelope.priority, next(self._counter), envelope))
                self.sent.append(envelope)

    def _pop(self, *, ignore_delays: bool, queues: Sequence[str] | None) -> Envelope | None:
        now = time.time()
        with self._lock:
            for entry in sorted(self._heap):
                envelope = entry[2]
                if queues is not None and envelope.queue not in queues:
                    continue
                if ignore_delays or envelope.run_at is None or envelope.run_at <= now:
                    self._heap.remove(entry)
                    heapq.heapify(self._heap)
                    return envelope
        return None

    def run_pending(self, bridge: Bridge, *, ignore_delays: bool = False) -> int:
        """Run waiting envelopes until none is due (all of them, with ``ignore_delays``),
        retries and chain steps included; returns how many ran. Re-entrant calls (a task that
        waits on another) are no-ops.

        Called with an event loop running in this thread (an async test), the tasks run in a
        helper thread while this one waits: an async task needs an event loop of its own."""
        if _loop_running():
            with concurrent.futures.ThreadPoolExecutor(1, "taskbridge-memory") as helper:
                return helper.submit(self._drain, bridge, ignore_delays).result()
        return self._drain(bridge, ignore_delays)

    def _drain(self, bridge: Bridge, ignore_delays: bool) -> int:
        if getattr(self._draining, "active", False):
            return 0
        self._draining.active = True
        ran = 0
        try:
            while (envelope := self._pop(ignore_delays=ignore_delays, queues=None)) is not None:
                execute(bridge, envelope, worker=worker_name())
                ran += 1
        finally:
            self._draining.active = False
        return ran

    def pending(self) -> list[Envelope]:
        with self._lock:
            return [entry[2] for entry in sorted(self._heap)]

    def clear(self) -> None:
        with self._lock:
            self._heap.clear()
            self.sent.clear()
        if isinstance(self.store, MemoryStore):
            self.store.clear()

    def run_worker(self, worker: Worker) -> None:
        stop = worker.options.stop
        with worker.services():
            while not stop.is_set():
                envelope = self._pop(ignore_delays=False, queues=worker.options.queues)
                if envelope is None:
                    stop.wait(0.01)
                    continue
                worker.execute(envelope, name=worker.id)

    def cancel(self, envelope_id: str) -> None:
        with self._lock:
            self._heap = [entry for entry in self._heap if entry[2].id != envelope_id]
            heapq.heapify(self._heap)

    def queue_depth(self, queue: str) -> int:
        now = time.time()
        with self._lock:
            return sum(
                1 for _, _, e in self._heap
                if e.queue == queue and (e.run_at is None or e.run_at <= now)
            )

    def close(self) -> None:
        return None


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _check_protocol(backend: MemoryBackend) -> Backend:
    return backend


@hookimpl
def taskbridge_backends() -> dict[str, Any]:
    return {"memory": MemoryBackend}
