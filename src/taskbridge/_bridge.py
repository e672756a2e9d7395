"""The bridge: one configured backend and store, and the enqueue path every task goes through."""

from __future__ import annotations

import builtins
import fnmatch
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from taskbridge import _json, _registry
from taskbridge._backend import AtomicEnqueue, Backend
from taskbridge._config import BackendURL, Settings, check_queue
from taskbridge._envelope import Envelope, Step
from taskbridge._errors import (
    EnqueueError,
    InvalidTaskOptions,
    TaskBridgeError,
    TaskNotRegistered,
    UnsupportedFeature,
)
from taskbridge._plugins import create_backend, plugin_manager
from taskbridge._record import Record
from taskbridge._result import Result
from taskbridge._status import Status
from taskbridge._stores.base import RecordFilter, StateStore

if TYPE_CHECKING:
    import pluggy

    from taskbridge._schedules.entries import ScheduleManager
    from taskbridge._task import Signature, Task

CHAIN_TASK_NAME = "taskbridge.chain"

Call = tuple["Task[Any, Any]", Sequence[Any], Mapping[str, Any]]


def new_id() -> str:
    return uuid.uuid4().hex


class Bridge:
    """A configured connection to one backend: enqueue, look up results, cancel, retry."""

    def __init__(
        self,
        url: str | None = None,
        *,
        settings: Settings | None = None,
        **options: Any,
    ) -> None:
        self.settings = settings or Settings.resolve(url=url, **options)
        self.url = BackendURL.parse(self.settings.url)
        _registry.import_modules(self.settings.imports)
        self.backend: Backend = create_backend(self.url)
        self.store: StateStore = self.backend.store
        # A runtime Protocol check costs microseconds; enqueue is a hot path, so decide once.
        self._atomic = self.backend if isinstance(self.backend, AtomicEnqueue) else None
        self._schedules: ScheduleManager | None = None

    def __repr__(self) -> str:
        return f"<Bridge {self.url.redacted()}>"

    @property
    def hooks(self) -> pluggy.HookRelay:
        return plugin_manager().hook

    @property
    def capabilities(self) -> Any:
        return self.backend.capabilities

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
        if not _registered_same(task):
            raise TaskNotRegistered(
                f"task {task.name!r} is not registered in this process; define it with @task "
                "at module level so workers can import it"
            )
        if not isinstance(kwargs, Mapping):
            raise InvalidTaskOptions(f"kwargs must be a dict, got {type(kwargs).__name__}")
        args, kwargs = tuple(args), dict(kwargs)
        _json.check_arguments(args, kwargs)
        options = task.options
        caps = self.backend.capabilities
        queue = check_queue(options.queue or task.queue or self.route(task.name))
        priority = options.priority if options.priority is not None else task.priority
        if priority and not caps.priority:
            raise UnsupportedFeature(
                f"priority={priority} for {task.name}: {caps.reason('priority')}; "
                "use a separate queue for urgent work"
            )
        timeout = options.timeout if options.timeout is not None else task.timeout
        if timeout is not None and not caps.timeouts:
            raise UnsupportedFeature(f"timeout= for {task.name}: {caps.reason('timeouts')}")
        run_at: float | None = None
        if options.delay is not None:
            run_at = now + float(options.delay)
        elif options.run_at is not None:
            run_at = options.run_at.timestamp()
        if run_at is not None and not caps.delays:
            raise UnsupportedFeature(f"delay/run_at for {task.name}: {caps.reason('delays')}")
        key = options.idempotency_key
        if key is None and task.idempotency_key is not None:
            key = task.idempotency_key(*args, **kwargs)
        if key is not None and (not isinstance(key, str) or not key):
            raise InvalidTaskOptions(
                f"idempotency key for {task.name} must be a non-empty str, got {key!r}"
            )
        envelope = Envelope(
            id=new_id(),
            task_name=task.name,
            args=args,
            kwargs=kwargs,
            queue=queue,
            priority=priority,
            attempt=1,
            max_attempts=task.retry.max_attempts,
            enqueued_at=now,
            run_at=run_at,
            timeout=timeout,
            idempotency_key=key,
            chain=chain,
            chain_id=chain_id,
        )
        return record_for(envelope), envelope

    def enqueue_calls(self, calls: Sequence[Call]) -> list[Result]:
        """Check, store and send calls as one batch; nothing is sent if any call is bad."""
        now = time.time()
        prepared = [self._prepare(task, args, kwargs, now) for task, args, kwargs in calls]
        asked = [r for r, _ in prepared]
        stored = self._send(asked, [e for _, e in prepared], now)
        return [_handle(self, a, s) for a, s in zip(asked, stored, strict=True)]

    def enqueue(self, task_name: str, *args: Any, **kwargs: Any) -> Result:
        """Enqueue a registered task by name."""
        return _registry.lookup(task_name).using(bridge=self).enqueue(*args, **kwargs)

    def enqueue_chain(self, steps: Sequence[Signature]) -> Result:
        """Store a chain's own record and send its first step; returns the chain's handle."""
        now = time.time()
        chain_id = new_id()
        rest = tuple(
            Step(s.task.name, s.args, s.kwargs, s.task.options.queue, s.task.options.priority)
            for s in steps[1:]
        )
        for later in steps[1:]:
            if not _registered_same(later.task):
                raise TaskNotRegistered(
                    f"chain step {later.task.name!r} is not registered in this process; define "
                    "it with @task at module level so workers can import it"
                )
            _json.check_arguments(later.args, later.kwargs)
        first = steps[0]
        record, envelope = self._prepare(
            first.task, first.args, first.kwargs, now, chain=rest, chain_id=chain_id
        )
        chain_record = Record(
            id=chain_id,
            task_name=CHAIN_TASK_NAME,
            queue=record.queue,
            status=Status.PENDING,
            kwargs={"steps": [s.task.name for s in steps]},
            enqueued_at=now,
            chain_id=envelope.id,
        )
        stored = self._send([chain_record, record], [envelope], now)
        return _handle(self, chain_record, stored[0])

    def _send(
        self, records: Sequence[Record], envelopes: Sequence[Envelope], now: float
    ) -> list[Record]:
        """Claim keys and write records, then send the envelopes; undo the writes on failure.

        Returns what the store returned: for a deduplicated record, the one holding its key."""
        ttl = self.settings.idempotency_ttl
        if self._atomic is not None:
            try:
                stored = self._atomic.create_and_enqueue(
                    records, envelopes, now=now, idempotency_ttl=ttl
                )
            except TaskBridgeError:
                raise
            except Exception as exc:
                raise EnqueueError(
                    f"{self.url.engine} could not store and send {len(records)} task(s) "
                    f"via {self.url.redacted()}: {exc}"
                ) from exc
        else:
            stored = self._store_then_send(records, envelopes, now)
        for asked, record in zip(records, stored, strict=True):
            if record.id == asked.id:
                self.hooks.taskbridge_enqueued(record=record)
        return stored

    def _store_then_send(
        self, records: Sequence[Record], envelopes: Sequence[Envelope], now: float
    ) -> list[Record]:
        try:
            stored = self.store.create(
                records, now=now, idempotency_ttl=self.settings.idempotency_ttl
            )
        except TaskBridgeError:
            raise
        except Exception as exc:
            raise EnqueueError(
                f"could not store {len(records)} task record(s) in {self.url.redacted()}: {exc}"
            ) from exc
        fresh = {s.id for r, s in zip(records, stored, strict=True) if s.id == r.id}
        to_send = [e for e in envelopes if e.id in fresh]
        if to_send:
            try:
                self.backend.enqueue(to_send)
            except Exception as exc:
                self.store.discard([r.id for r in stored if r.id in fresh or _is_chain(r, fresh)])
                if isinstance(exc, EnqueueError):
                    raise
                raise EnqueueError(
                    f"{self.url.engine} refused {len(to_send)} task(s): {exc}"
                ) from exc
        return stored

    def send(self, envelopes: Sequence[Envelope]) -> None:
        """Send envelopes whose records already exist (retries, recovery); for the worker side."""
        self.backend.enqueue(envelopes)

    # -- results ---------------------------------------------------------------------------

    def get_result(self, id: str) -> Result:
        """Rebuild a handle from an id; ``ResultNotFound`` if nobody knows it."""
        return Result(self, self.store.get(id))

    def cancel(self, id: str) -> Result:
        """Cancel an execution (see ``Result.cancel``)."""
        record = self.store.cancel(id, now=time.time())
        if record.status is Status.CANCELED:
            self.hooks.taskbridge_canceled(record=record)
        if record.task_name == CHAIN_TASK_NAME:
            self._cancel_chain_step(record)
        elif not record.status.is_final or record.status is Status.CANCELED:
            self.backend.cancel(id)
        return Result(self, record)

    def _cancel_chain_step(self, chain_record: Record) -> None:
        # The chain record points at the step currently in flight; cancel that one too.
        step_id = chain_record.chain_id
        if step_id:
            self.store.cancel(step_id, now=time.time())
            self.backend.cancel(step_id)

    def list(self, filter: RecordFilter | None = None, *, limit: int = 100, offset: int = 0,
             **criteria: Any) -> builtins.list[Result]:
        """Executions matching ``filter`` (or keyword criteria), newest first."""
        flt = filter or RecordFilter(**criteria)
        return [Result(self, r) for r in self.store.list(flt, limit=limit, offset=offset)]

    def count(self, filter: RecordFilter | None = None, **criteria: Any) -> int:
        return self.store.count(filter or RecordFilter(**criteria))

    def failed(self, *, limit: int = 100, offset: int = 0) -> builtins.list[Result]:
        """The dead-letter list: FAILED executions not yet retried, newest first."""
        flt = RecordFilter(status=Status.FAILED, include_retried=False)
        return self.list(flt, limit=limit, offset=offset)

    def retry(self, id: str) -> Result:
        """Re-enqueue a FAILED execution as a new one; the old record links to it."""
        old = self.store.get(id)
        if old.status is not Status.FAILED or old.retried_as or old.envelope is None:
            raise InvalidTaskOptions(
                f"only a FAILED task not yet retried can be retried; {id} is "
                f"{old.status.value}" + (f" and was retried as {old.retried_as}"
                                         if old.retried_as else "")
            )
        now = time.time()
        envelope = attrs.evolve(
            old.envelope, id=new_id(), attempt=1, enqueued_at=now, run_at=None
        )
        asked = record_for(envelope)
        [stored] = self._send([asked], [envelope], now)
        self.store.mark_retried(id, stored.id)
        return _handle(self, asked, stored)

    # -- schedules, lifecycle -------------------------------------------------------------------

    @property
    def schedules(self) -> ScheduleManager:
        from taskbridge._schedules.entries import ScheduleManager

        if self._schedules is None:
            self._schedules = ScheduleManager(self)
        return self._schedules

    def drive(self) -> None:
        """Give an in-process backend (memory://) the chance to run what is due."""
        if self.backend.capabilities.in_process:
            drain = getattr(self.backend, "run_pending", None)
            if drain is not None:
                drain(self)

    def close(self) -> None:
        self.backend.close()
        self.store.close()


def _registered_same(task: Task[Any, Any]) -> bool:
    other = _registry.all_tasks().get(task.name)
    return other is not None and other.func is task.func


def _handle(bridge: Bridge, asked: Record, stored: Record) -> Result:
    """The handle for one enqueue: deduplicated when the store answered with another record."""
    return Result(bridge, stored, deduplicated=stored.id != asked.id)


def _is_chain(record: Record, fresh: set[str]) -> bool:
    return record.task_name == CHAIN_TASK_NAME and record.chain_id in fresh


def record_for(envelope: Envelope) -> Record:
    """The PENDING record that goes with a first envelope."""
    return Record(
        id=envelope.id,
        task_name=envelope.task_name,
        queue=envelope.queue,
        status=Status.PENDING,
        args=envelope.args,
        kwargs=envelope.kwargs,
        priority=envelope.priority,
        max_attempts=envelope.max_attempts,
        idempotency_key=envelope.idempotency_key,
        enqueued_at=envelope.enqueued_at,
        run_at=envelope.run_at,
        envelope=envelope,
    )


_default_lock = threading.Lock()
_default: Bridge | None = None


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
    """The default bridge, configured from the environment on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Bridge()
        return _default


def set_bridge(bridge: Bridge | None) -> Bridge | None:
    """Replace the default bridge without closing the old one; returns the old one."""
    global _default
    with _default_lock:
        previous, _default = _default, bridge
    return previous
