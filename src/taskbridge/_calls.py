"""One task call checked and turned into its record and envelope: every rule a call must
pass before anything is stored or sent (registration, strict JSON, payload size, what the
backend can do, the idempotency key)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from taskbridge import _json, _registry
from taskbridge._config import check_queue
from taskbridge._envelope import Envelope, Step, new_id
from taskbridge._errors import InvalidTaskOptions, TaskNotRegistered, UnsupportedFeature
from taskbridge._record import Record, record_for

if TYPE_CHECKING:
    from taskbridge._bridge import Bridge
    from taskbridge._task import Task


def prepare(
    bridge: Bridge,
    task: Task[Any, Any],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    now: float,
    *,
    chain: tuple[Step, ...] = (),
    chain_id: str | None = None,
) -> tuple[Record, Envelope]:
    """Check everything about one call of ``task`` on ``bridge`` and build its record and
    envelope; sends nothing."""
    if not _registry.is_registered(task):
        raise TaskNotRegistered(
            f"task {task.name!r} is not registered in this process; define it with @task "
            "at module level so workers can import it"
        )
    if not isinstance(kwargs, Mapping):
        raise InvalidTaskOptions(f"kwargs must be a dict, got {type(kwargs).__name__}")
    args, kwargs = tuple(args), dict(kwargs)
    _json.check_arguments(args, kwargs)
    _json.check_call_size(task.name, args, kwargs, bridge.settings.max_payload)
    options = task.options
    caps = bridge.capabilities
    queue = check_queue(options.queue or task.queue or bridge.route(task.name))
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
