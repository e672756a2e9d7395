"""Enqueue inside ``transaction.atomic()`` with real ``manage.py taskbridge worker`` processes:
commit sends, rollback leaves nothing, a producer killed between commit and send leaves a record
the workers send after the grace period, exactly once; with another store, ENQUEUE_ON_COMMIT
defers the whole enqueue."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import transaction
from django.test import override_settings
from processes import TESTS, environment, log_text, workers
from taskbridge_django.conf import make_bridge
from taskbridge_django.models import Execution
from testapp.tasks import add

from taskbridge import Bridge, ResultNotFound, Status
from taskbridge.testing.cleanup import delete_namespace
from taskbridge.testing.polling import wait_for
from taskbridge.testing.redis_server import test_redis_url, unique_prefix

pytestmark = [pytest.mark.django_db(transaction=True, databases="__all__"), pytest.mark.slow]


def settings_for(url: str, store: str) -> dict[str, object]:
    return {"URL": url, "STORE": store, "UNSENT_GRACE": 1.0}


@pytest.fixture
def engine_url(tmp_path: Path) -> str:
    """Huey on an SQLite file of this test's own (the messages), records in the store."""
    return f"huey+sqlite:///{tmp_path / 'tasks.db'}"


@pytest.fixture
def bridge(alias: str, engine_url: str) -> Iterator[Bridge]:
    """The adapter's bridge, with its records in the Django store on ``alias``."""
    with override_settings(TASKBRIDGE=settings_for(engine_url, f"django:{alias}")):
        made = make_bridge()
        yield made
        made.close()


def worker_env(engine_url: str, store: str) -> dict[str, str]:
    return environment(TASKBRIDGE_DJANGO_TEST_URL=engine_url, TASKBRIDGE_DJANGO_TEST_STORE=store,
                       TASKBRIDGE_DJANGO_TEST_UNSENT_GRACE="1")


def queued(bridge: Bridge) -> int:
    return int(bridge.backend.queue_depth("default"))


def test_commit_sends_after_commit(
    alias: str, bridge: Bridge, engine_url: str, tmp_path: Path
) -> None:
    """Inside the block the record is in the transaction and nothing is queued; after the
    commit the message goes out and a worker runs it."""
    with transaction.atomic(using=alias):
        result = add.using(bridge=bridge).enqueue(2, 3)
        assert bridge.get_result(result.id).status is Status.PENDING
        assert queued(bridge) == 0
    assert queued(bridge) == 1
    with workers(1, worker_env(engine_url, f"django:{alias}"), tmp_path) as logs:
        wait_for(lambda: result.refresh().status is Status.SUCCEEDED, 30,
                 f"the worker to run the committed task\n{log_text(logs)}")
    assert result.value == 5


def test_rollback_leaves_neither_record_nor_message(alias: str, bridge: Bridge) -> None:
    """A rolled-back block leaves no record, no claim and no message."""
    with pytest.raises(RuntimeError), transaction.atomic(using=alias):
        result = add.using(bridge=bridge, idempotency_key="rolled-back").enqueue(2, 3)
        raise RuntimeError("roll back")
    with pytest.raises(ResultNotFound):
        bridge.get_result(result.id)
    assert bridge.store.claim_holder("rolled-back") is None
    assert queued(bridge) == 0


def test_a_producer_killed_between_commit_and_send_loses_nothing_and_runs_once(
    alias: str, bridge: Bridge, engine_url: str, tmp_path: Path
) -> None:
    """The producer dies (SIGKILL) after its commit, before sending: the committed record is
    sent by the workers after the grace period and runs exactly once, with two workers
    sweeping."""
    env = worker_env(engine_url, f"django:{alias}")
    runs = tmp_path / "runs.txt"
    producer = subprocess.run(
        [sys.executable, str(TESTS / "producer.py"), alias, str(runs), "crash"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert producer.returncode == -9, producer.stdout + producer.stderr
    [id] = producer.stdout.split()
    result = bridge.get_result(id)
    assert result.status is Status.PENDING and queued(bridge) == 0
    with workers(2, env, tmp_path) as logs:
        wait_for(lambda: result.refresh().status is Status.SUCCEEDED, 30,
                 f"a worker to send and run the unsent task\n{log_text(logs)}")
        wait_for(lambda: "sent 1 task(s) whose producer committed" in log_text(logs), 10,
                 "the sweep's log line")
        wait_for(lambda: Execution.objects.using(alias).get(id=id).unsent_since is None, 10,
                 "the unsent mark to be cleared")
    assert log_text(logs).count("whose producer committed") == 1
    assert runs.read_text().split() == ["crash"]
    assert result.attempts == 1


@pytest.fixture
def redis_store_url() -> Iterator[str]:
    """A Redis store under a namespace of this test's own, deleted afterwards."""
    redis = test_redis_url()
    namespace = unique_prefix("django")
    yield f"{redis}?namespace={namespace}"
    delete_namespace(redis, namespace)


def test_enqueue_on_commit_defers_the_whole_enqueue_with_another_store(
    engine_url: str, redis_store_url: str, tmp_path: Path
) -> None:
    """Records in Redis: inside the block nothing is stored or queued, yet the handle has its
    final id; after the commit a worker runs it under that id. A rollback leaves nothing."""
    with override_settings(TASKBRIDGE=settings_for(engine_url, redis_store_url)):
        bridge = make_bridge()
    try:
        with transaction.atomic():
            result = add.using(bridge=bridge).enqueue(20, 22)
            with pytest.raises(ResultNotFound):
                bridge.get_result(result.id)
            assert queued(bridge) == 0
        assert bridge.get_result(result.id).id == result.id
        with pytest.raises(RuntimeError), transaction.atomic():
            dropped = add.using(bridge=bridge).enqueue(1, 1)
            raise RuntimeError("roll back")
        with workers(1, worker_env(engine_url, redis_store_url), tmp_path) as logs:
            wait_for(lambda: result.refresh().status is Status.SUCCEEDED, 30,
                     f"the worker to run the task enqueued on commit\n{log_text(logs)}")
        assert result.value == 42
        with pytest.raises(ResultNotFound):
            bridge.get_result(dropped.id)
    finally:
        bridge.close()


def test_outside_a_transaction_enqueue_is_immediate(alias: str, bridge: Bridge) -> None:
    """No transaction open: the message is queued at once."""
    add.using(bridge=bridge).enqueue(1, 2)
    assert queued(bridge) == 1
