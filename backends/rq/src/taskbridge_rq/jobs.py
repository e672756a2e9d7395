"""RQ 2.x's wire format for one envelope: the job hash and queue writes, as raw Redis commands.

``Queue.enqueue_call`` with the ``JSONSerializer`` writes, in one pipeline: ``SADD rq:queues``,
``HSET rq:job:<id>`` with the fields of ``Job.to_dict()``, and ``RPUSH rq:queue:<name> <id>``;
``Queue.schedule_job`` writes the same hash with ``status=scheduled`` (and no ``enqueued_at``)
and ``ZADD rq:scheduled:<name> <unix seconds> <id>`` instead of the push. We produce exactly
those commands so the store can run them in the same Lua script as the record and the
idempotency claim: one round trip, all or nothing. ``tests/test_wire.py`` checks that RQ's own
``Job.fetch`` reads what we write.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import zlib
from collections.abc import Sequence

from taskbridge import Envelope

#: The one function every taskbridge job names; the worker refuses jobs naming anything else.
RUNNER = "taskbridge_rq.runner.run"
#: RQ's job timeout is our timeout plus this many seconds: a backstop, ours fires first.
TIMEOUT_BACKSTOP = 2
#: Seconds RQ keeps a job RQ itself saw fail (only undecodable or refused jobs ever do).
FAILURE_TTL = 7 * 24 * 3600

QUEUES_KEY = "rq:queues"
_TIMESTAMP = "%Y-%m-%dT%H:%M:%S.%fZ"  # rq.utils.utcformat's format

Command = list[str | bytes | int]


def rq_queue_name(namespace: str, queue: str) -> str:
    """RQ's name for a taskbridge queue: namespaced, so test runs and apps never collide."""
    return f"{namespace}.{queue}"


def queue_key(name: str) -> str:
    return f"rq:queue:{name}"


def scheduled_key(name: str) -> str:
    return f"rq:scheduled:{name}"


def job_id(envelope_id: str, attempt: int) -> str:
    """The RQ job id of one attempt.

    The first attempt's job id is the result id, so ``rq`` tools find it directly. Later
    attempts get their own job: RQ deletes a finished attempt's job hash *after* our runner
    returns, by which time the retry is already enqueued, so they must not share a key.
    """
    return envelope_id if attempt == 1 else f"{envelope_id}-{attempt}"


def envelope_id_of(rq_job_id: str) -> str:
    """Inverse of :func:`job_id` (result ids are hex, so the first ``-`` splits)."""
    return rq_job_id.split("-", 1)[0]


def _utcformat(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime(_TIMESTAMP)


def rq_timeout(envelope: Envelope) -> int:
    """RQ's ``job_timeout``: -1 (never) without a taskbridge timeout, else ours plus a margin.

    RQ's default (180 s) would otherwise kill long tasks that asked for no timeout.
    """
    if envelope.timeout is None:
        return -1
    return math.ceil(envelope.timeout) + TIMEOUT_BACKSTOP


def job_fields(envelope: Envelope, *, namespace: str, now: float, scheduled: bool) -> Command:
    """``Job.to_dict()`` of the job ``Queue.create_job`` would build for this envelope, flat."""
    data = json.dumps([RUNNER, None, [envelope.to_dict()], {}]).encode()
    meta = {"task": envelope.task_name, "id": envelope.id, "attempt": envelope.attempt}
    fields: Command = [
        "status", "scheduled" if scheduled else "queued",
        "created_at", _utcformat(now),
        "data", zlib.compress(data),
        "success_callback_name", "",
        "failure_callback_name", "",
        "stopped_callback_name", "",
        "started_at", "",
        "ended_at", "",
        "last_heartbeat", "",
        "worker_name", "",
        "group_id", "",
        "origin", rq_queue_name(namespace, envelope.queue),
        # What `rq info` and dashboards print for a job: the task's name.
        "description", envelope.task_name,
        "timeout", rq_timeout(envelope),
        # Results live in taskbridge's store; RQ deletes its job hash once the runner returns.
        "result_ttl", 0,
        "failure_ttl", FAILURE_TTL,
        "meta", json.dumps(meta),
    ]
    if not scheduled:
        fields += ["enqueued_at", _utcformat(now)]
    return fields


def enqueue_commands(envelope: Envelope, *, namespace: str, now: float) -> list[Command]:
    """The writes that enqueue ``envelope``, or schedule it when its ``run_at`` is ahead."""
    name = rq_queue_name(namespace, envelope.queue)
    scheduled = envelope.run_at is not None and envelope.run_at > now
    rq_id = job_id(envelope.id, envelope.attempt)
    fields = job_fields(envelope, namespace=namespace, now=now, scheduled=scheduled)
    commands: list[Command] = [
        ["SADD", QUEUES_KEY, queue_key(name)],
        ["HSET", f"rq:job:{rq_id}", *fields],
    ]
    if scheduled:
        assert envelope.run_at is not None
        # RQ scores whole seconds, rounded down (calendar.timegm); the runner waits out the
        # fraction so a task never starts before its run_at.
        commands.append(["ZADD", scheduled_key(name), int(envelope.run_at), rq_id])
    else:
        commands.append(["RPUSH", queue_key(name), rq_id])
    return commands


def batch_commands(
    envelopes: Sequence[Envelope], *, namespace: str, now: float
) -> list[Command]:
    """Every envelope's writes, in order."""
    return [c for e in envelopes for c in enqueue_commands(e, namespace=namespace, now=now)]
