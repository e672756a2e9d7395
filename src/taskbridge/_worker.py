"""The worker side every backend shares: options checked once, the bridge bound in the worker
process, presence and crash recovery beside the engine's loop, signal handling, and delivering
a message again when the store failed before its attempt started."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import attrs

from taskbridge._backend import WorkerOptions
from taskbridge._config import check_queue
from taskbridge._deferred import resend_unsent
from taskbridge._errors import ConfigurationError, InvalidTaskOptions
from taskbridge._execution import execute, recover_lost, reject
from taskbridge._lost_messages import resend_lost
from taskbridge._outage import OutageLog, ride_out
from taskbridge._purge import Purger
from taskbridge._status import WAITING

if TYPE_CHECKING:
    from taskbridge._backend import Capabilities
    from taskbridge._bridge import Bridge
    from taskbridge._envelope import Envelope
    from taskbridge._record import Record

logger = logging.getLogger("taskbridge.worker")

#: Seconds a worker pauses after delivering a message again, so a store that keeps failing
#: does not turn into a hot redelivery loop.
REDELIVERY_PAUSE = 0.5
#: How long a worker waits for the store to answer before it can deliver a message again.
#: Below RQ's horse monitoring interval (30 s), after which an RQ worker that cannot reach Redis
#: quits.
REDELIVER_FOR = 25.0
_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Worker:
    """One ``taskbridge worker`` process, as its backend sees it.

    ``options`` are checked (a known pool, a positive concurrency, valid queue names) and name
    the pool actually run. The backend's engine hands every message to :meth:`execute`.
    """

    def __init__(self, bridge: Bridge, options: WorkerOptions | None = None) -> None:
        self.bridge = bridge
        self.options = check_options(bridge, options or WorkerOptions())
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    def __repr__(self) -> str:
        return f"<Worker {self.id} {self.bridge.url.engine} pool={self.pool}>"

    @property
    def pool(self) -> str:
        assert self.options.pool is not None  # set by check_options
        return self.options.pool

    @property
    def capabilities(self) -> Capabilities:
        """What the pool this worker runs can do."""
        return self.bridge.backend.pools[self.pool]

    # -- messages ---------------------------------------------------------------------------------

    def execute(self, envelope: Envelope, *, name: str | None = None) -> Record | None:
        """Run one attempt of ``envelope`` through the core (see ``taskbridge.plugin.execute``).

        The engine has already taken the message off its queue: when the store fails on the
        way, the envelope is delivered again once the store answers, if its attempt never
        started, and this returns ``None``. ``name`` is the worker name recorded on the attempt:
        by default this worker's id, as ``taskbridge status`` lists it.
        """
        try:
            return execute(self.bridge, envelope, worker=name or self.id)
        except Exception as exc:  # only the store fails here: a task's own errors are recorded
            logger.warning("the store failed while running %s [%s]: %s", envelope.task_name,
                           envelope.id, exc)
            self.redeliver(envelope)
            return None

    def redeliver(self, envelope: Envelope) -> bool:
        """Send ``envelope`` again if its attempt never started: for a message the engine
        dropped after taking it off its queue (a store outage in the engine's own bookkeeping).
        Waits up to ``REDELIVER_FOR`` seconds for the store to answer.

        It is sent at once, not delayed: a delayed message would depend on the engine's
        scheduler, which a store outage may have stopped too. Sending twice is harmless: the
        store's ``start`` lets an attempt through once. Returns whether it was sent.
        """

        def send_if_never_started() -> bool:
            record = self.bridge.store.get_many([envelope.id])[0]
            if record is None or record.status not in WAITING:
                return False
            if record.attempts >= envelope.attempt:
                return False
            self.bridge.send([attrs.evolve(envelope, run_at=None)])
            return True

        try:
            sent = ride_out(send_if_never_started, seconds=REDELIVER_FOR,
                            what=f"delivering {envelope.task_name} [{envelope.id}] again")
        except Exception:
            logger.error("cannot tell whether %s [%s] attempt %d ever started; it may wait until "
                         "a sweep finds it", envelope.task_name, envelope.id, envelope.attempt)
            return False
        if sent:
            logger.warning("delivered %s [%s] attempt %d again: its message was dropped before "
                           "the attempt started", envelope.task_name, envelope.id,
                           envelope.attempt)
            time.sleep(REDELIVERY_PAUSE)
        return sent

    def reject(self, record_id: str, error_type: str, message: str) -> Record | None:
        """A message for ``record_id`` will never run (unreadable, refused, forged): end its
        waiting execution FAILED with that reason. Never raises."""
        try:
            return reject(self.bridge, record_id, error_type, message, worker=self.id)
        except Exception:
            logger.exception("could not record the rejected message for %s", record_id)
            return None

    # -- presence and crash recovery -----------------------------------------------------------

    @contextlib.contextmanager
    def services(self) -> Iterator[None]:
        """Announce this worker, look for executions lost by dead workers, send again messages
        lost before their attempt started, and purge records past their ttl, while the block
        runs. Backends enter it around their engine's loop,
        once the engine has forked whatever it forks at start (so no child is forked while
        this thread holds a lock)."""
        bridge, interval = self.bridge, self.bridge.settings.heartbeat_interval
        info = {
            "engine": bridge.url.engine, "queues": list(self.options.queues),
            "concurrency": self.options.concurrency, "pool": self.pool, "pid": os.getpid(),
            "host": socket.gethostname(), "started_at": time.time(),
        }
        stop = threading.Event()
        purger = Purger(bridge)
        _import_lazy_codecs()

        outage = OutageLog("worker housekeeping (presence, crash recovery, purge, resends)")

        def loop() -> None:
            while True:
                try:
                    bridge.store.register_worker(self.id, info, ttl=3 * interval)
                    recover_lost(bridge)
                    purger.run_due()
                    resend_unsent(bridge)
                    resend_lost(bridge, self.options.queues, holder=self.id)
                    outage.succeeded()
                except Exception as exc:
                    outage.failed(exc)
                if stop.wait(interval):
                    return

        thread = threading.Thread(target=loop, name="taskbridge-housekeeping", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=interval)
            with contextlib.suppress(Exception):
                bridge.store.unregister_worker(self.id)

    # -- signals ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def stop_on_signals(self) -> Iterator[None]:
        """SIGTERM/SIGINT set ``options.stop`` (finish running tasks, then return); a second one
        raises ``KeyboardInterrupt`` (stop now). Signals are handled only on the main thread;
        elsewhere ``options.stop`` is the way. The previous handlers come back afterwards."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handle(signum: int, frame: Any) -> None:
            if self.options.stop.is_set():
                raise KeyboardInterrupt
            logger.info("%s: finishing running tasks, then exiting", signal.Signals(signum).name)
            self.options.stop.set()

        with restored_signals():
            for signum in _SIGNALS:
                signal.signal(signum, handle)
            yield

    @contextlib.contextmanager
    def when_stopped(self, action: Callable[[], None]) -> Iterator[None]:
        """Call ``action`` once if ``options.stop`` is set while the block runs: how a backend
        relays a stop asked from code to an engine that only listens to its own signals."""
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                if self.options.stop.wait(0.2):
                    if not done.is_set():
                        action()
                    return

        thread = threading.Thread(target=watch, name="taskbridge-stop-relay", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()


@contextlib.contextmanager
def restored_signals() -> Iterator[None]:
    """Put back this process's SIGTERM/SIGINT handlers when the block ends (engines install
    their own while their worker runs). A no-op off the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {signum: signal.getsignal(signum) for signum in _SIGNALS}
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def _import_lazy_codecs() -> None:
    """Load the codecs a socket connect imports on first use, before any thread starts.

    Engines fork (RQ's work horses and worker pool, Celery's prefork pool) while the
    housekeeping thread may be connecting to the store; ``getaddrinfo`` imports
    ``encodings.idna`` on first use, and a child forked while another thread holds that import
    lock deadlocks on it forever (seen with RQ's ``-c 2``: children stuck before their first job).
    """
    "localhost".encode("idna")


# -- running a worker ------------------------------------------------------------------------------

_current: Worker | None = None


def current_worker() -> Worker:
    """The worker this process runs (forked children of the worker inherit it): where an
    engine's task function finds the bridge to execute with."""
    if _current is None:
        raise RuntimeError(
            "taskbridge tasks run only inside 'taskbridge worker', which sets up the bridge; "
            "start workers with: taskbridge worker --url ENGINE+...://..."
        )
    return _current


def check_options(bridge: Bridge, options: WorkerOptions) -> WorkerOptions:
    """``options`` checked against the backend, with the pool to run filled in."""
    backend, url = bridge.backend, bridge.url
    pool = options.pool or url.options.get("pool") or next(iter(backend.pools))
    if pool not in backend.pools:
        raise ConfigurationError(
            f"--pool {pool!r} is not a {url.engine} worker pool; choose one of "
            f"{', '.join(backend.pools)}"
        )
    if options.concurrency < 1:
        raise ConfigurationError(f"-c/--concurrency must be at least 1, got {options.concurrency}")
    if not options.queues:
        raise ConfigurationError("a worker needs at least one queue to consume (-q NAME)")
    if options.events and not backend.pools[pool].events:
        raise ConfigurationError(
            f"-E/--events: {url.engine} workers send no task events of their own (Celery's "
            "do, for Flower); drop the flag"
        )
    for queue in options.queues:
        try:
            check_queue(queue)
        except InvalidTaskOptions as exc:
            raise ConfigurationError(f"-q/--queue: {exc}") from None
    missing = backend.pools[pool].lacks(bridge.capabilities)
    if missing:
        logger.warning(
            "producers on %s assume %s, which this worker's pool %r cannot do (%s); start it "
            "with --pool %s", url.redacted(), ", ".join(missing), pool,
            "; ".join(backend.pools[pool].reason(flag) for flag in missing), bridge.pool,
        )
    return attrs.evolve(options, pool=pool)


@contextlib.contextmanager
def serving(worker: Worker) -> Iterator[Worker]:
    """Make ``worker`` this process's :func:`current_worker` while the block runs."""
    global _current
    previous, _current = _current, worker
    try:
        yield worker
    finally:
        _current = previous


def run_worker(bridge: Bridge, options: WorkerOptions) -> None:
    """Run ``bridge``'s engine worker in this process until ``options.stop`` or SIGTERM/SIGINT."""
    with serving(Worker(bridge, options)) as worker:
        bridge.backend.run_worker(worker)
