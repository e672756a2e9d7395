"""The backend interface: what an engine plugin implements to move envelopes and run workers."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import attrs

from taskbridge._envelope import Envelope
from taskbridge._stores.base import StateStore

if TYPE_CHECKING:
    from taskbridge._config import BackendURL
    from taskbridge._worker import Worker


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
    #: Its workers can send the engine's own task events (``taskbridge worker -E``), which the
    #: engine's monitors read (Celery's events, Flower).
    events: bool = False
    reasons: dict[str, str] = attrs.field(factory=dict)

    def reason(self, flag: str) -> str:
        return self.reasons.get(flag, f"this backend does not support {flag}")

    def lacks(self, other: Capabilities) -> list[str]:
        """The flags ``other`` has that this one does not."""
        return [
            field.name for field in attrs.fields(Capabilities)
            if field.type in ("bool", bool) and getattr(other, field.name)
            and not getattr(self, field.name)
        ]


@attrs.frozen
class WorkerOptions:
    """How ``taskbridge worker`` asked the backend to run its worker."""

    queues: tuple[str, ...] = ("default",)
    concurrency: int = 1
    #: One of the backend's ``pools`` (``None``: the one the URL names, else the first).
    pool: str | None = None
    #: Send the engine's own task events for its monitors (``-E``; backends with ``events``).
    events: bool = False
    #: Set to ask a running worker to finish its current tasks and return.
    stop: threading.Event = attrs.field(factory=threading.Event, eq=False)
    extra: dict[str, Any] = attrs.field(factory=dict)


@runtime_checkable
class Backend(Protocol):
    """One engine behind a URL. It only moves envelopes and runs its engine's worker: every
    semantic (JSON, idempotency, statuses, retries, chains, progress, heartbeats, crash recovery,
    error translation) lives in the core.

    A backend says how its engine's message is written for an envelope — as writes its store runs
    in the same atomic operation that stores the records (:meth:`writes`), or as a publish call
    (:meth:`publish`) — and how its worker runs (:meth:`run_worker`). Construct it with the
    parsed URL, and with ``store=`` when the URL names one (``?store=``); without one it opens its
    engine's natural store.
    """

    #: The engine name this backend is registered under (``huey``, ``rq``, ...).
    engine: str
    #: Worker pools by name and what each can do; the first is the default. Producers assume
    #: the pool the URL names with ``?pool=``, else the first.
    pools: ClassVar[Mapping[str, Capabilities]]
    #: Engine-specific URL options, besides ``namespace``, ``pool`` and ``store`` which the core
    #: checks for every engine.
    url_options: ClassVar[frozenset[str]]

    @property
    def store(self) -> StateStore:
        """The state store: the one given with ``store=``, or the engine's natural one."""
        ...

    def writes(
        self, envelopes: Sequence[Envelope], *, now: float
    ) -> Mapping[str, Sequence[Any]] | None:
        """The store-native writes that put each envelope's message on its queue, by envelope id,
        when the messages live where the store lives (Redis commands, SQL statements): the core
        runs them in the store's atomic ``create`` (records, claims and messages in one round
        trip) or ``write``. ``None`` when messages travel elsewhere: then :meth:`publish`."""
        ...

    def publish(self, envelopes: Sequence[Envelope]) -> None:
        """Send envelopes whose messages do not live in the store, honouring each ``run_at``,
        ``queue`` and ``priority``. Raise the driver's own errors: the core translates them."""
        ...

    def run_worker(self, worker: Worker) -> None:
        """Run the engine's own worker in this process until ``worker.options.stop`` is set or
        SIGTERM/SIGINT asks it to stop, handing every message to ``worker.execute``."""
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


class BackendFactory(Protocol):
    """What a plugin's ``taskbridge_backends`` hook maps an engine name to: the backend class
    (or the ``"module:Class"`` path of one, imported only when a URL needs that engine)."""

    pools: Mapping[str, Capabilities]
    url_options: frozenset[str]

    def __call__(self, url: BackendURL, *, store: StateStore | None = None) -> Backend: ...
