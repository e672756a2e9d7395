"""The Redis namespace clean-up and the check that a run leaves no keys behind."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from taskbridge.testing.cleanup import delete_entries, delete_namespace, namespace_entries
from taskbridge.testing.redis_server import (
    ENV,
    ENV_RUN,
    TEST_PREFIX,
    run_prefix,
    test_redis_url,
    unique_prefix,
)


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(test_redis_url())
    yield connection
    connection.close()


def test_namespaces_belong_to_the_run() -> None:
    """Every namespace of a run starts with the run's prefix, and namespaces never repeat."""
    first, second = unique_prefix("a"), unique_prefix("a")
    assert first != second
    assert first.startswith(run_prefix()) and second.startswith(run_prefix())
    assert run_prefix().startswith(TEST_PREFIX)


def test_delete_namespace_deletes_its_keys_and_members_only(client: redis.Redis) -> None:
    """Keys naming the namespace and its members of shared sets go; a neighbour's stay."""
    mine, neighbour = unique_prefix("mine"), unique_prefix("other")
    shared = f"{neighbour}:shared-set"
    for namespace in (mine, neighbour):
        client.set(f"{namespace}:rec:1", "x")
        client.rpush(f"{namespace}.default", "message")
        client.set(f"_kombu.binding.{namespace}.default", "x")
        client.sadd(shared, f"queue:{namespace}.default")
    try:
        deleted = delete_namespace(test_redis_url(), mine)
        assert deleted >= 3
        assert client.keys(f"*{mine}*") == []
        assert len(client.keys(f"*{neighbour}*")) == 4
    finally:
        delete_namespace(test_redis_url(), neighbour)
    assert client.keys(f"*{neighbour}*") == []


def test_distributions_report_entries_outside_the_namespace(client: redis.Redis) -> None:
    """Set members and keys an installed engine writes outside the namespace's names are found
    (here kombu's binding deadlines, when taskbridge-celery is installed)."""
    pytest.importorskip("taskbridge_celery")
    namespace = unique_prefix("kombu")
    exchange = f"reply.{namespace}.control.pidbox"
    client.zadd("_kombu.binding_deadlines", {exchange: 1})
    try:
        assert ("_kombu.binding_deadlines", exchange) in namespace_entries(client, namespace)
    finally:
        delete_namespace(client, namespace)
    assert client.zscore("_kombu.binding_deadlines", exchange) is None


def test_refuses_a_namespace_it_did_not_make() -> None:
    """Deleting anything but a tbtest- namespace is refused: tests never delete others' keys."""
    with pytest.raises(ValueError, match="not a test namespace"):
        delete_namespace(test_redis_url(), "taskbridge")


def test_a_run_that_leaves_keys_fails_and_names_them(tmp_path: Path, client: redis.Redis) -> None:
    """With taskbridge_check_redis_keys, a test run that leaves a key of its namespaces (or a
    member of a shared set) behind fails and lists each leftover."""
    run = uuid.uuid4().hex[:8]
    (tmp_path / "pytest.ini").write_text("[pytest]\ntaskbridge_check_redis_keys = true\n")
    (tmp_path / "test_leaks.py").write_text(textwrap.dedent("""
        import redis
        from taskbridge.testing.redis_server import test_redis_url, unique_prefix

        def test_leaks():
            client = redis.Redis.from_url(test_redis_url())
            namespace = unique_prefix("leak")
            client.set(f"{namespace}:rec:1", "x")
            client.sadd("rq:queues", f"rq:queue:{namespace}.default")

        def test_tidy():
            client = redis.Redis.from_url(test_redis_url())
            namespace = unique_prefix("tidy")
            client.set(f"{namespace}:rec:1", "x")
            client.delete(f"{namespace}:rec:1")
    """))
    env = {**os.environ, ENV: test_redis_url(), ENV_RUN: run}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        )
        assert done.returncode == 1, done.stdout + done.stderr
        assert "2 passed" in done.stdout
        assert "keys left on the tests' Redis" in done.stdout
        assert ":rec:1'" in done.stdout
        if importlib.util.find_spec("taskbridge_rq"):  # RQ's testing hooks know rq:queues
            assert "'rq:queues' member" in done.stdout
        assert "tidy" not in done.stdout
    finally:
        delete_entries(client, namespace_entries(client, f"{TEST_PREFIX}{run}-"))
