"""Test support for the RQ backend, registered in the ``taskbridge.testing`` entry-point group:
its conformance URL, and the RQ keys a test namespace leaves outside its own names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from taskbridge import hookimpl

from taskbridge_rq.jobs import QUEUES_KEY, envelope_id_of

#: Keys named by a job id: ``rq:job:<id>``, ``rq:job:<id>:dependents``, ``rq:results:<id>``,
#: ``rq:executions:<id>``, ``rq:execution:<id>:<n>``.
_BY_JOB_ID = ("rq:job:", "rq:results:", "rq:executions:", "rq:execution:")
#: Registered workers (``rq:worker:<name>`` hashes listing their queues) and schedulers.
_WORKERS_KEY = "rq:workers"
_SCHEDULERS = "rq:scheduler:"


@hookimpl
def taskbridge_conformance_urls(redis_url: str, workdir: Path) -> list[str]:
    return [f"rq+{redis_url}"]


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value


def _fields(client: Any, keys: list[str], field: str) -> list[str]:
    """Field ``field`` of each hash in ``keys`` ("" where missing or not a hash)."""
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.hget(key, field)
    values = pipe.execute(raise_on_error=False)
    return [_text(v) if isinstance(v, bytes | str) else "" for v in values]


def _serving(client: Any, keys: list[str], namespace: str) -> list[str]:
    """The worker or scheduler hashes in ``keys`` that list a queue of ``namespace``."""
    queues = _fields(client, keys, "queues")
    return [key for key, names in zip(keys, queues, strict=True)
            if any(name.startswith(namespace) for name in names.split(","))]


@hookimpl
def taskbridge_test_redis_entries(client: Any, namespace: str) -> list[tuple[str, str | None]]:
    """Job hashes (and their results and executions) of the namespace's queues or records,
    its queues in ``rq:queues``, and the workers and schedulers that served them."""
    ids = {_text(key).rsplit(":", 1)[1] for key in client.scan_iter(f"{namespace}*:rec:*")}
    rq_keys = [_text(key) for key in client.scan_iter("rq:*", count=1000)]
    jobs = [key for key in rq_keys if key.startswith("rq:job:") and key.count(":") == 2]
    for key, origin in zip(jobs, _fields(client, jobs, "origin"), strict=True):
        if origin.startswith(namespace):
            ids.add(key.split(":")[2])
    entries: list[tuple[str, str | None]] = []
    for key in rq_keys:
        prefix = next((p for p in _BY_JOB_ID if key.startswith(p)), None)
        if prefix is not None:
            job = key[len(prefix):].split(":", 1)[0]
            if job in ids or envelope_id_of(job) in ids:
                entries.append((key, None))
    for member in map(_text, client.smembers(QUEUES_KEY)):
        if member.startswith(f"rq:queue:{namespace}"):
            entries.append((QUEUES_KEY, member))
    workers = sorted(map(_text, client.smembers(_WORKERS_KEY)))
    for worker in _serving(client, workers, namespace):
        entries += [(_WORKERS_KEY, worker), (worker, None)]
    schedulers = [key for key in rq_keys if key.startswith(_SCHEDULERS)]
    entries += [(key, None) for key in _serving(client, schedulers, namespace)]
    return entries
