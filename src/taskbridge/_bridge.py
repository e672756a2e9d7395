"""The bridge: one configured backend and store, and the enqueue path every task goes through."""

from __future__ import annotations

import builtins
import contextlib
import fnmatch
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from taskbridge import _calls, _chains, _deferred, _registry
from taskbridge._backend import Backend, Capabilities
from taskbridge._config import BackendURL, Settings
from taskbridge._deferred import AfterCommit
from taskbridge._envelope import Envelope, Step, new_id
from taskbridge._errors import (
    ArgumentsNotSerializable,
    EnqueueError,
    InvalidTaskOptions,
    StoreUnavailable,
    TaskBridgeError,
)
from taskbridge._plugins import create_backend, plugin_manager
from taskbridge._record import Record, record_for
from taskbridge._result import Result
from taskbridge._status import Status
from taskbridge._stores.base import RecordFilter, StateStore
from taskbridge._unavailable import translated

if TYPE_CHECKING:
    import pluggy

    from taskbridge._schedules.manager import ScheduleManager
    from taskbridge._task import Task

Call = tuple["Task[Any, Any]", Sequence[Any], Mapping[str, Any]]


class Bridge:
    """A configured connection to one backend: enqueue, look up results, cancel, retry."""

    def __init__(
        self,
        url: str | None = None,
        *,
        settings: Settings | None = None,
        defer_enqueue: AfterCommit | None = None,
        **options: Any,
    ) -> None:
        self.settings = settings or Settings.resolve(url=url, **options)
        #: Set by a framework adapter: enqueues made while the application has a transaction
        #: open run, whole, after it commits (see :meth:`enqueue_calls`).
        self.defer_enqueue = defer_enqueue
        self.url = BackendURL.parse(self.settings.url)
        _registry.import_modules(self.settings.imports)
        backend, self.pool = create_backend(self.url)
        self.backend: Backend = backend
        self.store: StateStore = backend.store
        #: What the backend can do with the worker pool producers assume (``?pool=``).
        self.capabilities: Capabilities = backend.pools[self.pool]
        self._schedules: ScheduleManager | None = None

    def __repr__(self) -> str:
        return f"<Bridge {self.url.redacted()}>"

    @property
    def hooks(self) -> pluggy.HookRelay:
        return plugin_manager().hook


    # -- enqueueing ----------------------------------------------------------------------

    def route(self, task_name: str) -> str:
        """The queue a task goes to when neither the call nor the task names one."""
        for pattern, queue in self.settings.routes.items():
            if fnmatch.fnmatchcase(task_name, pattern):
                return queue
        return self.settings.default_queue

    def _prepare(
        self,
        task: Task[Any, Any],
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        now: float,
        *,
        chain: tuple[Step, ...] = (),
        chain_id: str | None = None,
    ) -> tuple[Record, Envelope]:
        """Check everything about one call and build its record and envelope; sends nothing."""
        return _calls.prepare(self, task, args, kwargs, now, chain=chain, chain_id=chain_id)

    def enqueue_calls(self, calls: Sequence[Call]) -> list[Result]:
        """Check, store and send calls as one batch; nothing is sent if any call is bad.

        With ``defer_enqueue`` set and an application transaction open, the calls are checked
        now and stored and sent after it commits (nothing at all on rollback); the handles
        returned at once carry their final ids, unless an idempotency key turns out to be taken
        at commit, in which case they then point at the execution holding it.
        """
        now = time.time()
        prepared = []
        for index, (task, args, kwargs) in enumerate(calls):
            try:
                prepared.append(self._prepare(task, args, kwargs, now))
            except (ArgumentsNotSerializable, InvalidTaskOptions) as exc:
                if len(calls) == 1:
                    raise
                # Which of the batch's calls, so the caller can find it among hundreds.
                raise type(exc)(f"call {index} of {len(calls)}: {exc}") from None
        asked = [r for r, _ in prepared]
        envelopes = [e for _, e in prepared]
        if self.defer_enqueue is not None:
            handles = [Result(self, record) for record in asked]
            if self.defer_enqueue(lambda: _deferred.send_committed(self, asked, envelopes,
                                                                   handles)):
                return handles
        stored = self._send(asked, envelopes, now)
        return [_handle(self, a, s) for a, s in zip(asked, stored, strict=True)]

    def enqueue(self, task_name: str, *args: Any, **kwargs: Any) -> Result:
        """Enqueue a registered task by name."""
        return _registry.lookup(task_name).using(bridge=self).enqueue(*args, **kwargs)

    def _send(
        self, records: Sequence[Record], envelopes: Sequence[Envelope], now: float
    ) -> list[Record]:
        """Claim keys, store records and send the envelopes of the records actually stored.

        Where the backend's messages live in the store, all of it is one atomic operation;
        elsewhere the records are stored first, then the messages published, and the records
        discarded again if publishing fails. Either way nothing is left half-written.
        """
        backend, ttl = self.backend, self.settings.idempotency_ttl
        with self._translated(f"store and send {len(records)} task(s)"):
            writes = backend.writes(envelopes, now=now)
            if writes is not None:
                stored = self.store.create(records, now=now, idempotency_ttl=ttl, writes=writes)
            else:
                stored = self.store.create(records, now=now, idempotency_ttl=ttl)
        if writes is None:
            fresh = {s.id for r, s in zip(records, stored, strict=True) if s.id == r.id}
            to_send = [e for e in envelopes if e.id in fresh]
            if to_send and _deferred.publish_after_commit(self, records, stored, to_send, now):
                return stored
            try:
                if to_send:
                    with self._translated(f"send {len(to_send)} task(s)"):
                        backend.publish(to_send)
            except EnqueueError:
                self.store.discard([r.id for r in stored if r.id in fresh])
                raise
        for asked, record in zip(records, stored, strict=True):
            if record.id == asked.id:
                self.hooks.taskbridge_enqueued(record=record)
        return stored

    def send(self, envelopes: Sequence[Envelope]) -> None:
        """Send envelopes whose records already exist (retries, recovery, redelivery)."""
        with self._translated(f"send {len(envelopes)} task(s)"):
            writes = self.backend.writes(envelopes, now=time.time())
            if writes is None:
                self.backend.publish(envelopes)
            else:
                self.store.write([w for e in envelopes for w in writes.get(e.id, ())])

    @contextlib.contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        """Turn a driver's error (redis, kombu, sqlite3, ...) or ``StoreUnavailable`` into
        ``EnqueueError``: the one place where the backend's and the store's failures to send
        get their wording. The original error is the ``__cause__``."""
        try:
            yield
        except StoreUnavailable as exc:
            raise EnqueueError(f"{self.url.engine} could not {action}: {exc}") from exc
        except TaskBridgeError:
            raise
        except Exception as exc:
            raise EnqueueError(
                f"{self.url.engine} could not {action} via {self.url.redacted()}: "
                f"{type(exc).__name__}: {exc}; check that the server is running and that the "
                "URL is right"
            ) from exc

    # -- results ---------------------------------------------------------------------------

    def get_result(self, id: str) -> Result:
        """Rebuild a handle from an id; ``ResultNotFound`` if nobody knows it."""
        with translated(self, f"look up execution {id}"):
            return Result(self, self.store.get(id))

    def cancel(self, id: str) -> Result:
        """Cancel an execution (see ``Result.cancel``)."""
        with translated(self, f"cancel execution {id}"):
            record = self.store.cancel(id, now=time.time())
            if record.status is Status.CANCELED:
                self.hooks.taskbridge_canceled(record=record)
            if _chains.is_chain(record):
                _chains.cancel_first_step(self, record)
            elif not record.status.is_final or record.status is Status.CANCELED:
                self.backend.cancel(id)
        return Result(self, record)

    def list(self, filter: RecordFilter | None = None, *, limit: int = 100, offset: int = 0,
             **criteria: Any) -> builtins.list[Result]:
        """Executions matching ``filter`` (or keyword criteria), newest first."""
        flt = filter or RecordFilter(**criteria)
        with translated(self, "list executions"):
            records = self.store.list(flt, limit=limit, offset=offset)
        return [Result(self, r) for r in records]

    def count(self, filter: RecordFilter | None = None, **criteria: Any) -> int:
        """How many executions match ``filter`` (or keyword criteria)."""
        with translated(self, "count executions"):
            return self.store.count(filter or RecordFilter(**criteria))

    def failed(
        self,
        *,
        task: str | None = None,
        queue: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> builtins.list[Result]:
        """The dead-letter list: FAILED executions neither retried nor discarded, newest first,
        of one task name and one queue when given."""
        flt = RecordFilter(status=Status.FAILED, include_retried=False, task_name=task,
                           queue=queue)
        return self.list(flt, limit=limit, offset=offset)

    def retry(self, id: str) -> Result:
        """Re-enqueue a FAILED execution as a new one; the old record links to it
        (``retried_as``). A failed chain, asked by its own id or its failing step's, resumes
        at its failing step as a new chain; the handle returned is the new chain's or the new
        step's, whichever was asked for.

        Like every call that sends a task, a store or broker that does not answer is an
        ``EnqueueError``."""
        with self._translated(f"retry execution {id}"):
            return self._retry(id)

    def _retry(self, id: str) -> Result:
        old = self.store.get(id)
        if old.status is not Status.FAILED:
            raise InvalidTaskOptions(
                f"execution {id} is {old.status.value}; only FAILED executions can be retried"
            )
        if old.retried_as:
            raise InvalidTaskOptions(
                f"execution {id} was already retried as {old.retried_as}; look at (or retry) "
                "that one instead"
            )
        resumed = _chains.resume(self, old)
        if resumed is not None:
            return resumed
        if old.envelope is None:
            raise InvalidTaskOptions(
                f"execution {id} has no stored message to send again (it was written by an "
                "older taskbridge); enqueue the task again instead"
            )
        now = time.time()
        envelope = attrs.evolve(
            old.envelope, id=new_id(), attempt=1, enqueued_at=now, run_at=None
        )
        asked = record_for(envelope)
        [stored] = self._send([asked], [envelope], now)
        self.store.mark_retried(id, stored.id)
        return _handle(self, asked, stored)

    def discard(self, id: str) -> Result:
        """Take a FAILED execution off the dead-letter list without retrying it.

        The record stays readable (``get_result`` works, statistics count it) with
        ``discarded_at`` set, until purged with the other final records; ``retry`` still works
        on it. A failed chain's own record and its failing step are discarded together.
        Discarding twice is harmless.
        """
        now = time.time()
        record = self.store.dismiss(id, now=now)
        if record is None:
            current = self.store.get(id)
            if current.discarded_at is not None:
                return Result(self, current)
            why = (f"was retried as {current.retried_as}" if current.retried_as
                   else f"is {current.status.value}")
            raise InvalidTaskOptions(
                f"execution {id} {why}, so it is not on the dead-letter list; only FAILED "
                "executions not yet retried can be discarded"
            )
        partner = _chains.partner(self, record)
        if partner is not None:
            self.store.dismiss(partner, now=now)
        return Result(self, record)

    def purge(self, older_than: float | None = None) -> int:
        """Delete final records now and return how many: those finished ``older_than``
        seconds ago or more, or, by default, those past ``result_ttl`` (FAILED ones past
        ``failed_ttl`` when set). Workers do this in the background at least once a minute."""
        now, settings = time.time(), self.settings
        if older_than is None:
            return self.store.purge(now=now, result_ttl=settings.result_ttl,
                                    failed_ttl=settings.failed_ttl)
        if isinstance(older_than, bool) or not isinstance(older_than, int | float) or not (
                older_than >= 0):
            raise InvalidTaskOptions(
                f"older_than must be a number of seconds, 0 or more, got {older_than!r}"
            )
        return self.store.purge(now=now, result_ttl=float(older_than))

    # -- schedules, lifecycle -------------------------------------------------------------------

    @property
    def schedules(self) -> ScheduleManager:
        from taskbridge._schedules.manager import ScheduleManager

        if self._schedules is None:
            self._schedules = ScheduleManager(self)
        return self._schedules

    def drive(self) -> None:
        """Give an in-process backend (memory://) the chance to run what is due."""
        if self.capabilities.in_process:
            drain = getattr(self.backend, "run_pending", None)
            if drain is not None:
                drain(self)

    def close(self) -> None:
        self.backend.close()
        self.store.close()


def _handle(bridge: Bridge, asked: Record, stored: Record) -> Result:
    """The handle for one enqueue: deduplicated when the store answered with another record."""
    return Result(bridge, stored, deduplicated=stored.id != asked.id)


_default_lock = threading.Lock()
_default: Bridge | None = None
_default_factory: Callable[[], Bridge] = Bridge


def configure(url: str | None = None, **settings: Any) -> Bridge:
    """Set (and return) the process's default bridge, the one ``@task`` functions use."""
    global _default
    bridge = Bridge(url, **settings)
    with _default_lock:
        previous, _default = _default, bridge
    if previous is not None and previous is not bridge:
        previous.close()
    return bridge


def get_bridge() -> Bridge:
    """The bridge tasks use here: the one a plugin names for the current context (the Flask
    adapter names the current application's), else the process's default bridge, configured
    from the environment on first use."""
    global _default
    current: Bridge | None = plugin_manager().hook.taskbridge_current_bridge()
    if current is not None:
        return current
    with _default_lock:
        if _default is None:
            _default = _default_factory()
        return _default


def set_bridge(bridge: Bridge | None) -> Bridge | None:
    """Replace the default bridge without closing the old one; returns the old one."""
    global _default
    with _default_lock:
        previous, _default = _default, bridge
    return previous


def set_default_factory(factory: Callable[[], Bridge] | None) -> None:
    """How :func:`get_bridge` makes the default bridge on first use (``None``: from the
    environment): a framework adapter passes one built from the framework's settings, so
    nothing connects before a task is first enqueued. A bridge set by ``configure`` wins."""
    global _default_factory
    with _default_lock:
        _default_factory = factory or Bridge
