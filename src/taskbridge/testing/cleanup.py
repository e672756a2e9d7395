"""Clean-up of test namespaces on a shared Redis: find, and delete, exactly what one wrote.

A test namespace (:func:`taskbridge.testing.redis_server.unique_prefix`) names taskbridge's keys
(``<ns>:…``) and, through the queue names, most of the engines' (RQ's ``rq:queue:<ns>.<q>`` and
registries, kombu's ``<ns>.<q>`` lists and ``_kombu.binding.<ns>.…`` tables, Huey's
``huey.*.<ns>.<q>``). What an engine keeps elsewhere (RQ's ``rq:job:<id>`` hashes, members of
``rq:workers``, kombu's ``_kombu.binding_deadlines``) its distribution reports through the
``taskbridge_test_redis_entries`` hook (:mod:`taskbridge.testing.plugins`).

Every namespace of one test run starts with :func:`~taskbridge.testing.redis_server.run_prefix`,
so the same functions, given that prefix, list what a whole run left behind.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from taskbridge.testing.plugins import RedisEntry, delete_test_namespace, testing_plugins
from taskbridge.testing.redis_server import TEST_PREFIX

if TYPE_CHECKING:
    import redis

_BATCH = 500


def text(value: bytes | str) -> str:
    """A Redis key or member as text (bytes that are not UTF-8 survive the round trip)."""
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value


def _raw(value: str) -> bytes:
    return value.encode("utf-8", "surrogateescape")


def glob_escape(value: str) -> str:
    """``value`` with Redis glob characters escaped, for ``SCAN MATCH``."""
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in value)


def namespace_entries(client: redis.Redis, namespace: str) -> set[RedisEntry]:
    """What was written for every namespace starting with ``namespace``: the keys whose names
    contain it, and what each installed distribution reports for its engine."""
    found: set[RedisEntry] = {
        (text(key), None)
        for key in client.scan_iter(match=f"*{glob_escape(namespace)}*", count=1000)
    }
    hook = testing_plugins().hook.taskbridge_test_redis_entries
    for answer in hook(client=client, namespace=namespace):
        found.update(answer or ())
    return found


def delete_entries(client: redis.Redis, entries: Iterable[RedisEntry]) -> None:
    """Delete whole keys, and single members from the shared sets, sorted sets and hashes."""
    entries = list(entries)
    whole = {key for key, member in entries if member is None}
    keys = sorted(whole)
    members: dict[str, list[str]] = {}
    for key, member in entries:
        if member is not None and key not in whole:
            members.setdefault(key, []).append(member)
    for start in range(0, len(keys), _BATCH):
        client.delete(*[_raw(key) for key in keys[start : start + _BATCH]])
    for key, names in members.items():
        kind = text(client.type(_raw(key)))
        remove = {"set": client.srem, "zset": client.zrem, "hash": client.hdel}.get(kind)
        if remove is not None:
            remove(_raw(key), *[_raw(name) for name in names])


def delete_namespace(redis_url_or_client: str | redis.Redis, namespace: str) -> int:
    """Delete everything a test namespace wrote to Redis, and nothing else; returns how many
    keys and members went.

    Refuses namespaces that :func:`~taskbridge.testing.redis_server.unique_prefix` did not
    make (``tbtest-…``): tests never delete keys they cannot prove are theirs.
    """
    if not namespace.startswith(TEST_PREFIX):
        raise ValueError(
            f"{namespace!r} is not a test namespace (made by unique_prefix(), starting with "
            f"{TEST_PREFIX!r}); refusing to delete its keys"
        )
    if isinstance(redis_url_or_client, str):
        import redis

        with redis.Redis.from_url(redis_url_or_client) as client:
            return delete_namespace(client, namespace)
    entries = namespace_entries(redis_url_or_client, namespace)
    delete_entries(redis_url_or_client, entries)
    return len(entries)


def delete_url_namespace(url: str, queues: Sequence[str] = ()) -> None:
    """Delete what a backend URL's test namespace left on its servers: the keys on every Redis
    the URL names (broker and ``?store=``) and, through the distributions' hooks, the engine's
    entities elsewhere (RabbitMQ queues and exchanges of ``queues``). URLs without a namespace
    from :func:`~taskbridge.testing.redis_server.unique_prefix` are left alone."""
    from taskbridge._config import BackendURL

    parsed = BackendURL.parse(url)
    namespace = parsed.options.get("namespace", "")
    if not namespace.startswith(TEST_PREFIX):
        return
    for server in {parsed.transport_url, parsed.options.get("store", "")}:
        if server.startswith(("redis://", "rediss://")):
            delete_namespace(server, namespace)
    delete_test_namespace(url, namespace, list(queues))
