"""The Redis store's side of the wire: how :class:`~taskbridge._stores.redis.RedisStore` writes
records into hashes and reads them back (see its key layout), the raw commands a backend may run
inside its scripts, and connection pools that survive a fork."""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Sequence
from typing import Any

import redis

from taskbridge import _json
from taskbridge._record import Record

CommandArg = str | bytes | int | float
Commands = Sequence[Sequence[CommandArg]]

#: Raw commands a backend may run inside ``create(writes=)`` / ``write``: writes only.
ALLOWED_COMMANDS = frozenset(
    {"HSET", "HMSET", "SET", "RPUSH", "LPUSH", "ZADD", "SADD", "EXPIRE", "PEXPIRE", "PUBLISH"}
)
RAW_FIELDS = frozenset(
    {"id", "task_name", "queue", "status", "idempotency_key", "worker", "retried_as",
     "first_step", "chain_id"}  # "chain_id": first_step as taskbridge 0.1.0 stored it
)
#: Fields holding one list each, kept as numbered fields instead (see the key layout).
_LIST_FIELDS = frozenset({"progress_log", "attempt_history"})


def encode(record: Record) -> list[str]:
    """The record as flat hash field/value pairs, leaving out ``None`` fields."""
    pairs: list[str] = []
    for name, value in record.to_dict().items():
        if value is not None and name not in _LIST_FIELDS:
            pairs += [name, value if name in RAW_FIELDS else _json.dumps(value)]
    for seq, entry in enumerate(record.progress_log, 1):
        pairs += [f"progress:{seq}", _json.dumps(entry.to_dict())]
    if record.progress_log:
        pairs += ["progress_seq", str(len(record.progress_log))]
    for attempt in record.attempt_history:
        pairs += [f"attempt:{attempt.attempt}", _json.dumps(attempt.start_dict()),
                  f"attempt:{attempt.attempt}:end", _json.dumps(attempt.end_dict())]
    return pairs


def pack(record: Record) -> tuple[str, str, bytes]:
    """:func:`encode`'s pairs as three script arguments instead of one per name and value (a
    record has ~40, and preparing each argument costs the client more than the script's work
    with it): the names, space-separated; the values' UTF-8 lengths, space-separated; the
    values, concatenated. ``unpack_fields`` in the scripts' prelude takes them apart."""
    pairs = encode(record)
    values = [value.encode() for value in pairs[1::2]]
    return " ".join(pairs[::2]), " ".join(map(str, map(len, values))), b"".join(values)


def decode(flat: Sequence[bytes | str]) -> Record:
    """A record from its hash's field/value pairs (as ``HGETALL`` or :func:`encode` gives
    them).

    The JSON values are parsed in one go, as one object assembled from the stored texts (each
    a JSON document :func:`encode` wrote; field names are the store's own).
    """
    raw: dict[str, str] = {}
    pieces: list[str] = []
    for raw_name, raw_value in zip(flat[::2], flat[1::2], strict=True):
        name = raw_name if isinstance(raw_name, str) else raw_name.decode()
        value = raw_value if isinstance(raw_value, str) else raw_value.decode()
        if name in RAW_FIELDS:
            raw[name] = value
        else:
            pieces.append(f'"{name}":{value}')
    fields = _json.loads("{" + ",".join(pieces) + "}")
    assert isinstance(fields, dict)
    fields.update(raw)
    return _from_fields(fields)


def decode_document(text: bytes | str) -> Record:
    """A record from the one JSON object a store script returns for it (``whole`` in its Lua
    prelude: the hash's fields, raw ones as JSON strings), parsed in one call."""
    fields = _json.loads(text)
    assert isinstance(fields, dict)
    return _from_fields(fields)


def _from_fields(fields: dict[str, Any]) -> Record:
    data: dict[str, Any] = {}
    progress: dict[int, Any] = {}
    attempts: dict[int, dict[str, Any]] = {}
    for name, value in fields.items():
        if name.startswith("progress:"):
            progress[int(name[9:])] = value
        elif name.startswith("attempt:"):
            number = int(name.split(":")[1])
            attempts.setdefault(number, {"attempt": number}).update(value)
        elif name != "progress_seq":
            data[name] = value
    if progress:
        data["progress_log"] = [progress[seq] for seq in sorted(progress)]
    if attempts:
        data["attempt_history"] = [attempts[n] for n in sorted(attempts)]
    return Record.from_dict(data)


def texts(values: Any) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def json_or_empty(value: Any) -> str:
    return "" if value is None else _json.dumps(value)


def encode_commands(commands: Commands) -> list[CommandArg]:
    """Flatten raw commands into script arguments, refusing any command not allowed."""
    flat: list[CommandArg] = [len(commands)]
    for command in commands:
        name = command[0].decode() if isinstance(command[0], bytes) else str(command[0])
        if name.upper() not in ALLOWED_COMMANDS:
            raise ValueError(
                f"Redis command {name!r} cannot run inside a store script; "
                f"use one of {', '.join(sorted(ALLOWED_COMMANDS))}"
            )
        if len(command) < 2:
            raise ValueError(f"Redis command {list(command)!r} has no key; pass [name, key, ...]")
        flat += [len(command), *command]
    return flat


_POOLS: weakref.WeakSet[redis.ConnectionPool] = weakref.WeakSet()


def _unlock_pools_in_child() -> None:
    # Engines fork (RQ's horses and worker pool, Celery's prefork, Huey's process workers)
    # while other threads of the parent (heartbeats, worker housekeeping) use the pool. A child
    # inherits the pool's locks in whatever state they were; redis-py's fork check then takes
    # the inherited ``_lock`` in ``reset()`` and waits forever if it was held at fork time
    # (seen with RQ's ``-c 2``). Fresh locks make the child's first use reset the pool cleanly.
    for pool in list(_POOLS):
        if hasattr(pool, "_fork_lock") and hasattr(pool, "_lock"):
            pool._fork_lock = threading.RLock()
            pool._lock = threading.RLock()


os.register_at_fork(after_in_child=_unlock_pools_in_child)


def safe_across_forks(pool: redis.ConnectionPool) -> None:
    """Give ``pool`` fresh locks in every child forked from now on."""
    _POOLS.add(pool)


__all__ = ["ALLOWED_COMMANDS", "RAW_FIELDS", "CommandArg", "Commands", "decode",
           "decode_document", "encode", "encode_commands", "json_or_empty", "pack",
           "safe_across_forks", "texts"]
