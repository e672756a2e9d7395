"""A state store on Redis (6.2 or later), every state change one atomic Lua script.

Key layout, under the namespace ``ns`` (default ``taskbridge``):

==============================  ==================================================================
``ns:rec:<id>``                 hash, a field per record field: strings raw (``status``,
                                ``queue``, ``task_name``, ``idempotency_key``, ``worker``, ...),
                                everything else JSON; a ``None`` field is absent. The envelope
                                leaves out the arguments when they are the record's own. The
                                progress log is ``progress:<seq>`` fields (``progress_seq``
                                counts), the attempt history ``attempt:<n>`` (start) and
                                ``attempt:<n>:end`` fields
``ns:idx:all``                  zset of every record id, scored by ``enqueued_at``
``ns:idx:status:<STATUS>``      zset per status, scored by ``enqueued_at``
``ns:idx:task:<name>``          zset per task name, scored by ``enqueued_at``
``ns:idx:queue:<name>``         zset per queue, scored by ``enqueued_at``
``ns:idx:ts:<task>:<STATUS>``   zset per task name and status, scored by ``enqueued_at``
``ns:idx:qs:<queue>:<STATUS>``  zset per queue and status, scored by ``enqueued_at``
``ns:idx:version``              ``2`` once every record is in the ``ts``/``qs`` indexes
``ns:idx:dead``                 zset of FAILED records not yet retried (the dead letters)
``ns:idx:finished``             zset of SUCCEEDED and CANCELED records scored by
                                ``finished_at`` (for ``purge``)
``ns:idx:finished:FAILED``      zset of FAILED records scored by ``finished_at`` (for ``purge``)
``ns:idx:heartbeat``            zset of RUNNING records scored by ``heartbeat_at`` (for ``stale``)
``ns:idem:<key>``               string: the id of the record holding idempotency key ``<key>``
``ns:done:<id>``                list: a token pushed when ``<id>`` becomes final, for waiters
                                (expires after 60 s)
``ns:schedules``                hash: schedule name -> JSON
``ns:lease:<key>``              hash: ``holder`` and ``expires_at`` of a lease (``lease``);
                                Redis deletes it a minute after it expired
``ns:worker:<id>``              string: worker info JSON, expiring after the worker's ttl
``ns:workers``                  zset of worker ids scored by expiry time
==============================  ==================================================================

Scripts build key names from the namespace at run time, so the store needs a single Redis
server (not Redis Cluster). Scores are always handed to Redis as the text Python wrote, never
as Lua numbers, which Lua would round to 14 digits.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Mapping, Sequence
from typing import Any

import redis

from taskbridge import _json
from taskbridge import _transitions as transitions
from taskbridge._config import redact
from taskbridge._errors import EnqueueError, ResultNotFound
from taskbridge._record import (
    ATTEMPT_HISTORY_SIZE,
    PROGRESS_LOG_SIZE,
    Attempt,
    ErrorInfo,
    ProgressEntry,
    Record,
    history_error,
)
from taskbridge._status import Status
from taskbridge._stores.redis_lua import PRELUDE, SCRIPTS
from taskbridge._stores.redis_queries import QUERY, IndexedReads
from taskbridge._stores.redis_wire import (
    ALLOWED_COMMANDS,
    CommandArg,
    Commands,
    decode,
    decode_document,
    encode_commands,
    json_or_empty,
    pack,
    safe_across_forks,
    texts,
)

_PURGE_BATCH = 500
#: How long Redis keeps a lease past its ttl before deleting it (expiry is decided by the
#: ``now`` callers pass; Redis's own expiry only cleans up).
_LEASE_MARGIN = 60.0




class RedisStore(IndexedReads):
    """Records, claims, schedules and workers in one Redis database, under ``namespace``.

    ``url_or_client`` is a ``redis://`` / ``rediss://`` URL or a ``redis.Redis`` made with
    ``decode_responses=False``. ``client`` and ``key`` let a backend share the connection and
    the namespace.
    """

    #: Errors worth retrying: the server is down or restarting (see execution._persist).
    transient_errors: tuple[type[BaseException], ...] = (redis.ConnectionError, redis.TimeoutError)

    def __init__(self, url_or_client: str | redis.Redis, *, namespace: str = "taskbridge") -> None:
        if isinstance(url_or_client, str):
            self.client: redis.Redis = redis.Redis.from_url(url_or_client)
            self._owns_client = True
            self.url = redact(url_or_client)
        else:
            self.client = url_or_client
            self._owns_client = False
            conn = self.client.connection_pool.connection_kwargs
            where = f"{conn.get('host', 'localhost')}:{conn.get('port', 6379)}"
            self.url = f"redis://{where}/{conn.get('db', 0)}"
        safe_across_forks(self.client.connection_pool)
        self.namespace = namespace
        self._scripts = {
            name: self.client.register_script(PRELUDE + body) for name, body in SCRIPTS.items()
        }
        self._query = self.client.register_script(QUERY)
        self._indexed = False

    def get_and_watch(self, id: str, seconds: float) -> Record:
        """``get``, and in the same round trip ask to be woken (:meth:`wait_for_final`) if
        ``id`` becomes final within ``seconds``.

        A final transition pushes a wake-up token only for a record someone watches, so a
        record nobody waits for costs no token. The watch is set before the record is read:
        a transition that came first shows in the record returned.
        """
        [record] = self._read([id], watch=seconds)
        if record is None:
            raise self._not_found(id)
        return record

    def wait_for_final(self, id: str, timeout: float) -> Record | None:
        """Block until ``id`` may have become final, or ``timeout`` seconds pass; returns the
        final record when it came with the wake-up.

        The script that makes a watched record final (:meth:`get_and_watch`) pushes the
        record, which this pops (``BLPOP``): a waiter wakes as soon as the task ends, with its
        outcome, instead of polling. With several waiters on one id only one gets it; the
        others wake at their timeout and read the record.
        """
        popped: Any = self.client.blpop([self.key("done", id)], timeout=max(timeout, 0.01))
        document = popped[1] if popped else b""
        # Versions before this one pushed "1", a token without the record.
        return decode_document(document) if document.startswith(b"{") else None

    def key(self, *parts: str) -> str:
        """The namespaced key ``namespace:part:part``."""
        return ":".join((self.namespace, *parts))

    def _call(self, script: str, *args: Any) -> Any:
        return self._scripts[script](args=[self.namespace, *args])

    def _unreachable(self, exc: Exception) -> EnqueueError:
        return EnqueueError(
            f"cannot reach Redis at {self.url}: {exc}; check that the server is running "
            "and that the URL's host, port, database and password are right"
        )

    # -- records ---------------------------------------------------------------------------

    def create(
        self,
        records: Sequence[Record],
        *,
        now: float,
        idempotency_ttl: float,
        writes: Mapping[str, Commands] | None = None,
    ) -> list[Record]:
        """``StateStore.create``; ``writes[id]`` (Redis commands from :data:`ALLOWED_COMMANDS`)
        also run, atomically, for each record stored."""
        args: list[CommandArg] = [repr(float(now)), repr(float(idempotency_ttl)), len(records)]
        for record in records:
            args += [record.id, record.idempotency_key or "", *pack(record)]
            args += encode_commands((writes or {}).get(record.id, ()))
        try:
            replies = self._call("create", *args)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise self._unreachable(exc) from exc
        return [
            decode_document(reply) if reply else record
            for record, reply in zip(records, replies, strict=True)
        ]

    def write(self, writes: Commands) -> None:
        """Run raw write commands (from :data:`ALLOWED_COMMANDS`) atomically, in one script."""
        if writes:
            self._call("run", *encode_commands(writes))

    def claim_holder(self, key: str) -> str | None:
        holder = self.client.get(self.key("idem", key))
        return None if holder is None else texts([holder])[0]

    def discard(self, ids: Sequence[str]) -> None:
        if ids:
            self._call("discard", *ids)

    def get(self, id: str) -> Record:
        [record] = self.get_many([id])
        if record is None:
            raise self._not_found(id)
        return record

    def get_many(self, ids: Sequence[str]) -> list[Record | None]:
        return self._read(ids)

    def _read(self, ids: Sequence[str], *, watch: float | None = None) -> list[Record | None]:
        """The records ``ids`` in one round trip; with ``watch``, each watched first (see
        :meth:`get_and_watch`) for that many seconds."""
        pipe = self.client.pipeline(transaction=False)
        for id in ids:
            if watch is not None:
                pipe.set(self.key("waiting", id), "1", px=max(1, int(watch * 1000)))
            pipe.hgetall(self.key("rec", id))
        replies = pipe.execute()
        return [
            decode([x for pair in found.items() for x in pair]) if found else None
            for found in (replies if watch is None else replies[1::2])
        ]

    def _not_found(self, id: str) -> ResultNotFound:
        return ResultNotFound(f"no task execution has id {id!r} in {self.url}")

    def start(self, id: str, attempt: int, *, worker: str, now: float) -> Record | None:
        entry = Attempt(attempt, worker=worker, started_at=float(now))
        reply = self._call("start", id, attempt, repr(float(now)), worker,
                           _json.dumps(entry.start_dict()), ATTEMPT_HISTORY_SIZE)
        return decode_document(reply) if reply else None

    def finish(
        self,
        id: str,
        attempt: int,
        status: Status,
        *,
        now: float,
        idempotency_ttl: float,
        value: Any = None,
        error: ErrorInfo | None = None,
        run_at: float | None = None,
        envelope: Any = None,
        cpu_time: float | None = None,
        peak_memory: int | None = None,
    ) -> Record | None:
        transitions.check(Status.RUNNING, status, id)
        ended = Attempt(attempt, finished_at=float(now), outcome=status.value,
                        error=history_error(error), cpu_time=cpu_time, peak_memory=peak_memory)
        kept: list[str] = ["", "", ""]
        if envelope is not None and status in (Status.RETRYING, Status.FAILED):
            without = envelope.to_dict()
            args, kwargs = without.pop("args"), without.pop("kwargs")
            kept = [_json.dumps(without), _json.dumps(args), _json.dumps(kwargs)]
        fields: list[str] = ["error", json_or_empty(error.to_dict() if error else None)]
        if status is Status.RETRYING:
            fields += ["run_at", json_or_empty(run_at)]
        else:
            fields += ["value", json_or_empty(value), "finished_at", repr(float(now))]
        reply = self._call("finish", id, attempt, status.value, _json.dumps(ended.end_dict()),
                           ATTEMPT_HISTORY_SIZE, *kept, *fields)
        return decode_document(reply) if reply else None

    def heartbeat(self, id: str, attempt: int, *, now: float) -> bool | None:
        flag = self._call("heartbeat", id, attempt, repr(float(now)))
        return None if flag < 0 else bool(flag)

    def set_progress(
        self, id: str, percent: float, message: str, *, now: float | None = None
    ) -> None:
        entry = ProgressEntry(time.time() if now is None else float(now), float(percent), message)
        self._call("progress", id, _json.dumps([float(percent), message]),
                   _json.dumps(entry.to_dict()), PROGRESS_LOG_SIZE)

    def cancel(self, id: str, *, now: float) -> Record:
        reply = self._call("cancel", id, repr(float(now)))
        if not reply:
            raise self._not_found(id)
        return decode_document(reply)

    def mark_retried(self, id: str, new_id: str) -> Record | None:
        reply = self._call("mark_retried", id, new_id)
        return decode_document(reply) if reply else None

    def dismiss(self, id: str, *, now: float) -> Record | None:
        reply = self._call("dismiss", id, repr(float(now)))
        return decode_document(reply) if reply else None

    def stale(self, *, before: float, limit: int = 100) -> list[Record]:
        ids = self.client.zrangebyscore(
            self.key("idx", "heartbeat"), "-inf", f"({before!r}", start=0, num=limit
        )
        found = self.get_many(texts(ids))
        return [r for r in found if r is not None and r.status is Status.RUNNING]

    def purge(
        self,
        *,
        now: float,
        result_ttl: float,
        failed_ttl: float | None = None,
        limit: int | None = None,
    ) -> int:
        if self.client.exists(self.key("idx", "all")) and not self.client.exists(
            self.key("idx", "version")
        ):
            self.reindex()
        ttls = [repr(float(result_ttl)), repr(float(result_ttl if failed_ttl is None
                                                      else failed_ttl))]
        total = 0
        while limit is None or total < limit:
            budget = _PURGE_BATCH if limit is None else min(_PURGE_BATCH, limit - total)
            deleted, more = self._call("purge", repr(float(now)), *ttls, budget)
            total += int(deleted)
            if not more:
                break
        return total

    def lease(self, key: str, holder: str, *, now: float, ttl: float) -> bool:
        keep_ms = max(1, int((ttl + _LEASE_MARGIN) * 1000))
        taken = self._call("lease", key, holder, repr(float(now)), repr(float(now + ttl)), keep_ms)
        return bool(taken)

    def release_lease(self, key: str, holder: str) -> None:
        self._call("release_lease", key, holder)

    def lease_holder(self, key: str, *, now: float) -> str | None:
        holder, expires_at = self.client.hmget(self.key("lease", key), ["holder", "expires_at"])
        if holder is None or expires_at is None or float(expires_at) <= now:
            return None
        return texts([holder])[0]

    # -- schedules and workers -----------------------------------------------------------------

    def put_schedule(self, name: str, data: dict[str, Any]) -> None:
        self.client.hset(self.key("schedules"), name, _json.dumps(data))

    def get_schedule(self, name: str) -> dict[str, Any] | None:
        raw = self.client.hget(self.key("schedules"), name)
        return None if raw is None else dict(_json.loads(raw))

    def list_schedules(self) -> dict[str, dict[str, Any]]:
        found = self.client.hgetall(self.key("schedules"))
        return {texts([name])[0]: dict(_json.loads(raw)) for name, raw in found.items()}

    def delete_schedule(self, name: str) -> bool:
        return bool(self.client.hdel(self.key("schedules"), name))

    def register_worker(self, worker_id: str, info: dict[str, Any], *, ttl: float) -> None:
        now = time.time()
        pipe = self.client.pipeline(transaction=True)
        pipe.set(self.key("worker", worker_id), _json.dumps(info), px=max(1, int(ttl * 1000)))
        pipe.zadd(self.key("workers"), {worker_id: now + ttl})
        pipe.zremrangebyscore(self.key("workers"), "-inf", now)
        pipe.execute()

    def unregister_worker(self, worker_id: str) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(self.key("worker", worker_id))
        pipe.zrem(self.key("workers"), worker_id)
        pipe.execute()

    def workers(self) -> builtins.list[dict[str, Any]]:
        ids = texts(self.client.zrangebyscore(self.key("workers"), f"({time.time()!r}", "+inf"))
        if not ids:
            return []
        infos = self.client.mget([self.key("worker", i) for i in ids])
        return [dict(_json.loads(raw), id=i) for i, raw in zip(ids, infos, strict=True) if raw]

    def ping(self) -> None:
        try:
            self.client.ping()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise self._unreachable(exc) from exc

    def close(self) -> None:
        if self._owns_client:
            self.client.close()


__all__ = ["ALLOWED_COMMANDS", "Commands", "RedisStore", "encode_commands"]
