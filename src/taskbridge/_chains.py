"""Chains: steps run one after another, each given the previous step's value, as one execution.

A chain has a record of its own (task ``CHAIN_TASK_NAME``, never sent to a worker): PENDING
until its first step starts, RUNNING while steps run, then final with the last step's value or
the failing step's error. Each step is an ordinary execution whose envelope carries the steps
still to run and the id of the chain's record (``Envelope.chain_id``); the worker that finishes
a step sends the next one. The chain's record keeps the id of its first step
(``Record.first_step``) so that a cancel reaches a first step still waiting; later steps see a
cancel through the chain's record, before they start and while they run.

A chain that FAILED in a step keeps that step's envelope on its record (``Record.envelope``):
``Bridge.retry`` resumes there, as a new chain whose first step is a new execution of the
failing one, and both old records link to the new ones (``retried_as``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs

from taskbridge import _json, _registry
from taskbridge._envelope import Envelope, Step, new_id
from taskbridge._errors import InvalidTaskOptions, TaskBridgeError, TaskNotRegistered
from taskbridge._record import ErrorInfo, Record, record_for
from taskbridge._result import Result
from taskbridge._status import Status

if TYPE_CHECKING:
    from taskbridge._bridge import Bridge
    from taskbridge._task import Task

#: The task name of a chain's own record.
CHAIN_TASK_NAME = "taskbridge.chain"


@attrs.frozen
class Signature:
    """A task with (some of) its arguments, run later as a step of a chain."""

    task: Task[Any, Any]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = attrs.field(factory=dict)

    def enqueue(self) -> Result:
        """Enqueue the task alone with these arguments, as ``task.enqueue(*args, **kwargs)``."""
        return self.task.bridge.enqueue_calls([(self.task, self.args, self.kwargs)])[0]


@attrs.frozen
class Chain:
    """Steps run one after another, each receiving the previous value as first argument."""

    steps: tuple[Signature, ...]

    def enqueue(self) -> Result:
        """Enqueue the first step; returns one :class:`Result` for the whole chain."""
        return enqueue(self.steps[0].task.bridge, self.steps)


def chain(*steps: Signature) -> Chain:
    """Run ``steps`` in order; see :class:`Chain`."""
    if not steps:
        raise InvalidTaskOptions("chain() needs at least one step, e.g. chain(a.s(1), b.s())")
    for step in steps:
        if not isinstance(step, Signature):
            raise InvalidTaskOptions(
                f"chain() takes signatures such as my_task.s(1), got {step!r}"
            )
    return Chain(tuple(steps))


def is_chain(record: Record) -> bool:
    """True for a chain's own record (bookkeeping that never runs on a worker)."""
    return record.task_name == CHAIN_TASK_NAME


# -- producers ---------------------------------------------------------------------------------


def enqueue(bridge: Bridge, steps: Sequence[Signature]) -> Result:
    """Store a chain's own record and send its first step; returns the chain's handle."""
    now = time.time()
    for later in steps[1:]:
        if not _registry.is_registered(later.task):
            raise TaskNotRegistered(
                f"chain step {later.task.name!r} is not registered in this process; define "
                "it with @task at module level so workers can import it"
            )
        _json.check_arguments(later.args, later.kwargs)
        _json.check_call_size(later.task.name, later.args, later.kwargs,
                              bridge.settings.max_payload)
    rest = tuple(
        Step(s.task.name, s.args, s.kwargs, s.task.options.queue, s.task.options.priority)
        for s in steps[1:]
    )
    chain_id = new_id()
    first = steps[0]
    record, envelope = bridge._prepare(
        first.task, first.args, first.kwargs, now, chain=rest, chain_id=chain_id
    )
    chain_record = Record(
        id=chain_id,
        task_name=CHAIN_TASK_NAME,
        queue=record.queue,
        status=Status.PENDING,
        kwargs={"steps": [s.task.name for s in steps]},
        enqueued_at=now,
        first_step=envelope.id,
    )
    stored = bridge._send([chain_record, record], [envelope], now)
    return Result(bridge, stored[0])


def cancel_first_step(bridge: Bridge, chain_record: Record) -> None:
    """Cancel the first step of a chain being canceled, so that a waiting one never starts."""
    if chain_record.first_step:
        bridge.store.cancel(chain_record.first_step, now=time.time())
        bridge.backend.cancel(chain_record.first_step)


# -- workers: called by the execution path for every envelope ----------------------------------


def cancel_requested(bridge: Bridge, envelope: Envelope) -> bool:
    """True when ``envelope`` is a step of a chain that was canceled (or no longer exists)."""
    if envelope.chain_id is None:
        return False
    record = bridge.store.get_many([envelope.chain_id])[0]
    return record is None or record.cancel_requested or record.status is Status.CANCELED


def canceled_before_start(bridge: Bridge, envelope: Envelope) -> bool:
    """Before a step starts: if its chain was canceled, cancel the step, end the chain and
    return True (the step must not run)."""
    if not cancel_requested(bridge, envelope):
        return False
    step = bridge.store.cancel(envelope.id, now=time.time())
    if step.status is Status.CANCELED:
        bridge.hooks.taskbridge_canceled(record=step)
    end(bridge, envelope, Status.CANCELED, None)
    return True


def step_started(bridge: Bridge, envelope: Envelope, *, worker: str, now: float) -> None:
    """A step started: its chain is RUNNING from its first step on."""
    if envelope.chain_id is not None:
        bridge.store.start(envelope.chain_id, 1, worker=worker, now=now)


def step_succeeded(bridge: Bridge, envelope: Envelope, value: Any) -> None:
    """Send the chain's next step with ``value`` as its first argument, or end the chain
    SUCCEEDED with ``value`` after its last step."""
    if envelope.chain_id is None:
        return
    if not envelope.chain:
        end(bridge, envelope, Status.SUCCEEDED, None, value)
        return
    if cancel_requested(bridge, envelope):
        end(bridge, envelope, Status.CANCELED, None)
        return
    step: Step = envelope.chain[0]
    try:
        task = _registry.lookup(step.task_name)
        if step.queue is not None or step.priority is not None:
            task = task.using(queue=step.queue, priority=step.priority)
        record, following = bridge._prepare(
            task, (value, *step.args), step.kwargs, time.time(),
            chain=envelope.chain[1:], chain_id=envelope.chain_id,
        )
        bridge._send([record], [following], following.enqueued_at)
    except TaskBridgeError as exc:
        end(bridge, envelope, Status.FAILED, ErrorInfo.from_exception(exc))


def end(
    bridge: Bridge,
    envelope: Envelope,
    status: Status,
    error: ErrorInfo | None,
    value: Any = None,
    *,
    failed_step: Envelope | None = None,
) -> None:
    """End the chain ``envelope`` is a step of (if any) with ``status``; once final, a no-op.

    ``failed_step``: the envelope of the step whose own failure ends the chain FAILED, kept on
    the chain's record so that ``retry`` can resume there. A chain that failed between steps
    (the next one could not be sent) keeps none.
    """
    if envelope.chain_id is None:
        return
    store = bridge.store
    chain = store.get_many([envelope.chain_id])[0]
    if chain is None or chain.status.is_final:
        return
    if chain.status is not Status.RUNNING:
        # Canceled before its first step ever ran.
        record: Record | None = store.cancel(envelope.chain_id, now=time.time())
    else:
        record = store.finish(
            envelope.chain_id, 1, status, now=time.time(),
            idempotency_ttl=bridge.settings.idempotency_ttl, value=value, error=error,
            envelope=failed_step,
        )
    if record is None or not record.status.is_final:
        return
    hook = {
        Status.SUCCEEDED: bridge.hooks.taskbridge_succeeded,
        Status.FAILED: bridge.hooks.taskbridge_failed,
        Status.CANCELED: bridge.hooks.taskbridge_canceled,
    }[record.status]
    hook(record=record)


# -- dead letters: retry and discard ------------------------------------------------------------


def partner(bridge: Bridge, record: Record) -> str | None:
    """For a FAILED chain's own record, its failing step's id; for that failing step, the
    chain's id; ``None`` for anything else. The two leave the dead-letter list together."""
    if is_chain(record):
        return record.envelope.id if record.envelope is not None else None
    chain_id = record.envelope.chain_id if record.envelope is not None else None
    if chain_id is None:
        return None
    chain_record = bridge.store.get_many([chain_id])[0]
    if chain_record is None or chain_record.envelope is None:
        return None
    return chain_id if chain_record.envelope.id == record.id else None


def resume(bridge: Bridge, record: Record) -> Result | None:
    """Retry a FAILED chain, given its own record or a failing step's: a new chain that
    starts with a new execution of the failing step. Returns the new chain's handle, or the
    new step's when a step was given; ``None`` when ``record`` has nothing to do with a chain.
    """
    if is_chain(record):
        if record.envelope is None:
            raise InvalidTaskOptions(
                f"chain {record.id} did not fail in a step (it was canceled, failed between "
                "steps, or was written by an older taskbridge), so there is no step to resume "
                f"at; its error: {record.error.message if record.error else 'none'}; enqueue "
                "the chain again instead"
            )
        old_chain: Record | None = record
        failing = record.envelope
    elif record.envelope is not None and record.envelope.chain_id is not None:
        failing = record.envelope
        # Only a chain that ended in this very step is marked (a purged one needs nothing).
        old_id = partner(bridge, record)
        old_chain = bridge.store.get_many([old_id])[0] if old_id is not None else None
    else:
        return None
    now = time.time()
    chain_id = new_id()
    step = attrs.evolve(failing, id=new_id(), attempt=1, enqueued_at=now, run_at=None,
                        chain_id=chain_id)
    names = [failing.task_name, *(later.task_name for later in failing.chain)]
    if old_chain is not None:
        names = old_chain.kwargs.get("steps", names)
    chain_record = Record(
        id=chain_id, task_name=CHAIN_TASK_NAME, queue=step.queue, status=Status.PENDING,
        kwargs={"steps": names}, enqueued_at=now, first_step=step.id,
    )
    stored = bridge._send([chain_record, record_for(step)], [step], now)
    if stored[1].id != step.id:
        bridge.store.discard([chain_id])
        raise InvalidTaskOptions(
            f"cannot resume the chain at {failing.task_name}: its idempotency key "
            f"{failing.idempotency_key!r} is held by execution {stored[1].id}; wait for that "
            "one to end, or cancel it, then retry"
        )
    if old_chain is not None:
        bridge.store.mark_retried(old_chain.id, chain_id)
    bridge.store.mark_retried(failing.id, step.id)
    return Result(bridge, stored[0] if is_chain(record) else stored[1])
