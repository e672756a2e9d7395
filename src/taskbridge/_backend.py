"""The backend interface: what an engine plugin implements to move envelopes and run workers."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

from taskbridge._envelope import Envelope
from taskbridge._record import Record
from taskbridge._stores.base import StateStore

if TYPE_CHECKING:
    from taskbridge._bridge import Bridge
    from taskbridge._config import BackendURL


@attrs.frozen
class Capabilities:
    """What a backend can do; the API refuses what a backend declares it cannot.

    Each flag that is False carries its reason in ``reasons`` so errors and conformance skips
    can say why.
    """

    #: ``timeout=`` stops an attempt that runs too long.
    timeouts: bool = True
    #: ``priority=`` orders waiting tasks on one queue.
    priority: bool = True
    #: A RUNNING task can be told to stop (cooperatively, through ``context.canceled``).
    cancel_running: bool = True
    #: ``delay=`` / ``run_at=`` are honoured to within a second.
    delays: bool = True
    #: Workers are separate processes (crash-recovery tests apply).
    worker_processes: bool = True
    #: The backend runs tasks inside the producer's process, on demand (memory://).
    in_process: bool = False
    reasons: dict[str, str] = attrs.field(factory=dict)

    def reason(self, flag: str) -> str:
        return self.reasons.get(flag, f"this backend does not support {flag}")


@attrs.frozen
class WorkerOptions:
    """How ``taskbridge worker`` asked the backend to run its worker."""

    queues: tuple[str, ...] = ("default",)
    concurrency: int = 1
    #: Engine-specific pool or worker class (e.g. ``prefork``/``threads``, ``fork``/``simple``).
    pool: str | None = None
    #: Set to ask a running worker to finish its current tasks and return.
    stop: threading.Event = attrs.field(factory=threading.Event, eq=False)
    extra: dict[str, Any] = attrs.field(factory=dict)


@runtime_checkable
class Backend(Protocol):
    """One engine behind a URL. Only moves envelopes and runs workers: every semantic (JSON,
    idempotency, statuses, retries, chains, progress, heartbeats) lives in the core.

    Workers hand each envelope to :func:`taskbridge._execution.execute`, and nothing else.
    """

    #: The engine name this backend is registered under (``huey``, ``rq``, ...).
    engine: str
    capabilities: Capabilities

    @property
    def store(self) -> StateStore:
        """The state store that goes with this backend (same server, same namespace)."""
        ...

    def enqueue(self, envelopes: Sequence[Envelope]) -> None:
        """Send the envelopes, honouring each ``run_at``, ``queue`` and ``priority``.

        Raises :class:`~taskbridge.EnqueueError` if nothing could be sent.
        """
        ...

    def run_worker(self, bridge: Bridge, options: WorkerOptions) -> None:
        """Run the engine's own worker in this process until ``options.stop`` is set or a
        SIGTERM/SIGINT asks it to stop."""
        ...

    def cancel(self, envelope_id: str) -> None:
        """Use the engine's native revoke, where it has one; a no-op otherwise."""
        ...

    def queue_depth(self, queue: str) -> int:
        """How many messages wait on ``queue`` (delayed ones excluded)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class AtomicEnqueue(Protocol):
    """Optional: a backend whose store and queue share one server can write the records, the
    idempotency claims and the engine's messages in a single atomic round trip.

    Same contract as ``StateStore.create`` followed by ``Backend.enqueue`` for the records that
    were not deduplicated, but all or nothing, so no rollback is ever needed.
    """

    def create_and_enqueue(
        self,
        records: Sequence[Record],
        envelopes: Sequence[Envelope],
        *,
        now: float,
        idempotency_ttl: float,
    ) -> list[Record]: ...


class BackendFactory(Protocol):
    """What a plugin's ``taskbridge_backends`` hook maps an engine name to."""

    def __call__(self, url: BackendURL) -> Backend: ...
