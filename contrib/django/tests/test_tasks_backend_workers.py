"""Django's task API (``django.tasks``, or the backport on Django 5.2) on TaskBridgeBackend
with real workers on huey+sqlite, rq+redis and celery+redis: the scenarios of Django's own
``tests/tasks/`` that apply to a backend whose tasks run elsewhere (enqueue, ``using``,
``get_result``, refresh, context, async, signals), plus what taskbridge adds underneath
(retries, idempotency, timeouts, records in the admin). One worker per engine serves the
whole module; records live in the Django store, as the adapter's default has it: in SQLite
beside Huey's thread workers, in PostgreSQL behind the forking workers of RQ and Celery (a
forked child cannot share a process's SQLite file, see ``taskbridge_django.store``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections, transaction
from django.test import Client, override_settings
from djangotasks import tasks
from processes import environment
from taskbridge_django.backend import TaskBridgeBackend
from taskbridge_django.conf import make_bridge, with_store
from taskbridge_django.django_tasks_api import (
    InvalidTask,
    TaskResultDoesNotExist,
    TaskResultStatus,
    default_task_backend,
    task_enqueued,
)

from conftest import postgres_answers
from taskbridge import Bridge
from taskbridge._bridge import set_bridge
from taskbridge.testing.cleanup import delete_namespace
from taskbridge.testing.polling import wait_for
from taskbridge.testing.redis_server import test_redis_url, unique_prefix
from taskbridge.testing.workers import Workers

pytestmark = [pytest.mark.django_db(transaction=True, databases=["default", "pg"]),
              pytest.mark.slow]

#: Each engine and the database alias of its Django store.
ENGINES = {"huey": "default", "rq": "pg", "celery": "pg"}
QUEUES = ["default", "emails"]


class Served:
    """One engine's worker for the module, and where its records and signals are seen."""

    def __init__(self, engine: str, url: str, bridge: Bridge, signal_log: Path) -> None:
        self.engine = engine
        self.url = url
        self.bridge = bridge
        self.signal_log = signal_log

    def signals(self, id: str) -> list[dict[str, Any]]:
        """What the workers' receivers of Django's task signals saw for execution ``id``."""
        if not self.signal_log.exists():
            return []
        lines = [json.loads(line) for line in self.signal_log.read_text().splitlines()]
        return [line for line in lines if line["id"] == id]


@pytest.fixture(scope="module", params=list(ENGINES))
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
    django_db_setup: None, django_db_blocker: Any,
) -> Iterator[Served]:
    """A worker of ``engine`` (queues default and emails) for the module, records in the
    Django store of the test database, and the project's bridge pointed at the same."""
    engine = str(request.param)
    store = f"django:{ENGINES[engine]}"
    if ENGINES[engine] == "pg" and postgres_answers() is not None:
        pytest.skip(postgres_answers() or "")
    folder = tmp_path_factory.mktemp(f"djtasks-{engine}")
    namespace = unique_prefix(f"djtasks-{engine}")
    redis = test_redis_url()
    url = (f"huey+sqlite:///{folder / 'tasks.db'}" if engine == "huey"
           else f"{engine}+{redis}?namespace={namespace}")
    signal_log = folder / "signals.jsonl"
    env = environment(TASKBRIDGE_DJANGO_TEST_URL=url, TASKBRIDGE_DJANGO_TEST_STORE=store,
                      DJANGOTASKS_SIGNAL_LOG=str(signal_log))
    settings = override_settings(TASKBRIDGE={"URL": url, "STORE": store})
    settings.enable()
    bridge = make_bridge()
    previous = set_bridge(bridge)
    try:
        with django_db_blocker.unblock(), Workers(folder, url=with_store(url, store),
                                                  env=env) as workers:
            workers.start(queues=QUEUES, concurrency=2, bridge=bridge)
            yield Served(engine, url, bridge, signal_log)
    finally:
        set_bridge(previous)
        bridge.close()
        settings.disable()
        if engine != "huey":
            delete_namespace(redis, namespace)


def finished(result: Any, served: Served, timeout: float = 30) -> Any:
    """``result`` refreshed until it is finished (Django's ``is_finished``)."""

    def done() -> bool:
        result.refresh()
        return bool(result.is_finished)

    wait_for(done, timeout, f"{result.task.module_path} [{result.id}] to finish on "
             f"{served.engine}")
    return result


def test_enqueue_returns_a_ready_result(served: Served) -> None:
    """enqueue() answers at once with the execution waiting to run: READY, enqueued now,
    not started, no attempts, no return value yet."""
    before = dt.datetime.now(dt.UTC)
    result = tasks.noop_task.enqueue(1, two=3)
    assert result.status == TaskResultStatus.READY
    assert result.enqueued_at is not None and result.enqueued_at >= before - dt.timedelta(1)
    assert (result.started_at, result.finished_at, result.last_attempted_at) == (None,) * 3
    assert (result.errors, result.worker_ids, result.attempts) == ([], [], 0)
    assert result.is_finished is False
    with pytest.raises(ValueError, match="Task has not finished yet"):
        result.return_value  # noqa: B018
    assert (result.task, result.args, result.kwargs, result.backend) == (
        tasks.noop_task, [1], {"two": 3}, "default")


@pytest.mark.parametrize("task", [tasks.noop_task, tasks.noop_task_from_bare_decorator,
                                  tasks.noop_task_async], ids=lambda t: t.name)
def test_enqueued_task_runs_on_a_worker(served: Served, task: Any) -> None:
    """A task (plain, from the bare decorator, async) runs on the engine's worker and its
    refreshed result says so: SUCCESSFUL, ordered timestamps, one attempt by one worker."""
    result = finished(task.enqueue(1, two=3), served)
    assert result.status == TaskResultStatus.SUCCESSFUL, result.errors
    assert result.return_value is None
    assert result.enqueued_at <= result.started_at <= result.finished_at
    assert result.last_attempted_at == result.started_at
    assert result.attempts == 1 and len(result.worker_ids) == 1 and result.worker_ids[0]
    assert (result.task, result.args, result.kwargs) == (task, [1], {"two": 3})


def test_return_value_and_get_result(served: Served) -> None:
    """The return value comes back through get_result() from any handle: the backend's, the
    task's; another task's get_result() refuses the id."""
    result = finished(tasks.calculate_meaning_of_life.enqueue(), served)
    assert result.return_value == 42
    for fetched in (default_task_backend.get_result(result.id),
                    tasks.calculate_meaning_of_life.get_result(result.id)):
        assert fetched == result
        assert fetched.return_value == 42
    with pytest.raises(Exception, match="Task does not match"):
        tasks.noop_task.get_result(result.id)
    echoed = finished(tasks.echo.enqueue([1, (2, 3)], key={"nested": None}), served)
    assert echoed.return_value == {"args": [[1, [2, 3]]], "kwargs": {"key": {"nested": None}}}


def test_unknown_id_does_not_exist(served: Served) -> None:
    """An id nobody knows raises TaskResultDoesNotExist, never a silent READY."""
    with pytest.raises(TaskResultDoesNotExist):
        default_task_backend.get_result("no-such-id")


def test_failure_is_recorded_as_django_reports_it(served: Served) -> None:
    """A task's exception ends it FAILED with a TaskError naming the exception's class (a
    built-in one included) and its traceback; its return value raises."""
    result = finished(tasks.failing_task_value_error.enqueue(), served)
    assert result.status == TaskResultStatus.FAILED
    [error] = result.errors
    assert error.exception_class is ValueError
    assert error.traceback.endswith("ValueError: This task failed due to ValueError\n")
    with pytest.raises(ValueError, match="Task failed"):
        result.return_value  # noqa: B018
    complex_error = finished(tasks.complex_exception.enqueue(), served)
    assert complex_error.errors[0].exception_class is ValueError
    not_json = finished(tasks.complex_return_value.enqueue(), served)
    assert not_json.status == TaskResultStatus.FAILED
    assert issubclass(not_json.errors[0].exception_class, TypeError)
    assert "not a JSON value" in not_json.errors[0].traceback


def test_using_a_queue_runs_there(served: Served) -> None:
    """using(queue_name=...) and a task defined on a queue run on that queue; the result's
    task says which."""
    result = finished(tasks.noop_task.using(queue_name="emails").enqueue(), served)
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.task.queue_name == "emails"
    assert served.bridge.get_result(result.id).queue == "emails"
    email = finished(tasks.send_email.enqueue("a@example.org"), served)
    assert email.return_value == "sent to a@example.org"


def test_run_after_defers_the_start(served: Served) -> None:
    """using(run_after=...) does not start before then (within the second backends keep)."""
    run_after = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3)
    result = finished(tasks.noop_task.using(run_after=run_after).enqueue(), served)
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.started_at >= run_after - dt.timedelta(seconds=1)


def test_priority_as_the_engine_allows(served: Served) -> None:
    """using(priority=...) enqueues where the engine orders by priority (stored on the
    record); where it cannot, validation refuses it, as Django's rules say."""
    if not default_task_backend.supports_priority:
        assert served.engine == "rq"
        with pytest.raises(InvalidTask, match="does not support setting priority"):
            tasks.noop_task.using(priority=10)
        return
    result = finished(tasks.noop_task.using(priority=10).enqueue(), served)
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.task.priority == 10
    assert served.bridge.get_result(result.id).priority == 10


def test_takes_context(served: Served) -> None:
    """A takes_context task gets Django's TaskContext: its task_result is this execution and
    its attempt the attempt running."""
    result = finished(tasks.get_task_id.enqueue(), served)
    assert result.return_value == result.id
    assert finished(tasks.test_context.enqueue(1), served).status == TaskResultStatus.SUCCESSFUL


def test_retries_grow_errors_and_worker_ids(served: Served, tmp_path: Path) -> None:
    """A task defined with a retry policy fails twice and succeeds on its third attempt: its
    context saw attempt 3 with two errors so far, and the result has one TaskError per failed
    attempt and one worker id per attempt."""
    marker = tmp_path / "attempts.txt"
    result = finished(tasks.fails_twice.enqueue(str(marker)), served)
    assert result.status == TaskResultStatus.SUCCESSFUL, result.errors
    assert result.return_value == {"attempt": 3, "errors": 2, "worker_ids": 3}
    assert marker.read_text().split() == ["1", "2", "3"]
    assert result.attempts == 3 and len(result.worker_ids) == 3
    assert [e.exception_class for e in result.errors] == [RuntimeError, RuntimeError]
    assert "attempt 2 fails on purpose" in result.errors[1].traceback


def test_async_api(served: Served) -> None:
    """aenqueue(), aget_result() and arefresh() work as their sync twins."""

    async def scenario() -> Any:
        result = await tasks.echo_async.aenqueue("hello")
        for _ in range(600):
            await result.arefresh()
            if result.is_finished:
                break
            await asyncio.sleep(0.05)
        fetched = await tasks.echo_async.aget_result(result.id)
        with pytest.raises(TaskResultDoesNotExist):
            await default_task_backend.aget_result("no-such-id")
        # As Django does when an async request ends: the thread the store was read in lives on.
        await sync_to_async(connections.close_all)()
        return result, fetched

    result, fetched = asyncio.run(scenario())
    assert result.status == TaskResultStatus.SUCCESSFUL, result.errors
    assert result.return_value == fetched.return_value == "hello"


def test_signals(served: Served) -> None:
    """task_enqueued fires in the producer; task_started and task_finished in the worker
    process that ran the task, with the backend's class as sender and the result as it was."""
    seen: list[Any] = []

    def receiver(sender: Any, task_result: Any, **kwargs: Any) -> None:
        seen.append((sender, task_result.status))

    task_enqueued.connect(receiver)
    try:
        result = finished(tasks.failing_task_value_error.enqueue(), served)
    finally:
        task_enqueued.disconnect(receiver)
    assert seen == [(TaskBridgeBackend, TaskResultStatus.READY)]
    wait_for(lambda: len(served.signals(result.id)) == 2, 10, "the worker's two signals")
    started, ended = served.signals(result.id)
    assert (started["signal"], started["status"], started["attempts"]) == (
        "task_started", "RUNNING", 1)
    assert (ended["signal"], ended["status"], ended["errors"]) == ("task_finished", "FAILED", 1)
    assert started["sender"] == ended["sender"] == "TaskBridgeBackend"
    assert started["pid"] != os.getpid() and ended["pid"] != os.getpid()


def test_idempotency_key_from_the_task_definition(served: Served) -> None:
    """A task defined with idempotency_key= returns the execution already holding the key
    instead of enqueueing it again."""
    first = tasks.charge.enqueue(7)
    again = tasks.charge.enqueue(7)
    other = tasks.charge.enqueue(8)
    assert again.id == first.id != other.id
    assert finished(again, served).return_value == 7


def test_timeout_from_the_task_definition(served: Served) -> None:
    """A task defined with timeout= fails with TaskTimeout when an attempt runs longer, on
    pools that stop attempts; elsewhere enqueue refuses it, saying why."""
    if not served.bridge.capabilities.timeouts:
        with pytest.raises(InvalidTask, match="timeout"):
            tasks.sleeps.enqueue(5)
        return
    result = finished(tasks.sleeps.enqueue(5), served)
    assert result.status == TaskResultStatus.FAILED
    assert result.errors[0].exception_class_path == "taskbridge.TaskTimeout"


def test_rolled_back_enqueue_leaves_nothing(served: Served) -> None:
    """Inside transaction.atomic() the enqueue is part of the transaction: rolled back, the
    result never existed."""
    with pytest.raises(RuntimeError), transaction.atomic():
        result = tasks.noop_task.enqueue()
        raise RuntimeError("roll back")
    with pytest.raises(TaskResultDoesNotExist):
        default_task_backend.get_result(result.id)


def test_shows_in_the_admin_and_the_dashboard(served: Served, django_user_model: Any) -> None:
    """An execution enqueued through Django's API is listed and shown in taskbridge's admin
    and its dashboard's API like any other."""
    result = finished(tasks.calculate_meaning_of_life.enqueue(), served)
    client = Client()
    client.force_login(django_user_model.objects.create_superuser("root", password="pw"))
    listing = client.get("/admin/taskbridge_django/execution/")
    assert listing.status_code == 200
    assert result.id in listing.content.decode()
    detail = client.get(f"/admin/taskbridge_django/execution/{result.id}/change/")
    assert detail.status_code == 200
    assert "djangotasks.tasks.calculate_meaning_of_life" in detail.content.decode()
    api = client.get(f"/tasks/api/executions/{result.id}").json()
    assert (api["task_name"], api["status"], api["value"]) == (
        "djangotasks.tasks.calculate_meaning_of_life", "SUCCEEDED", 42)
