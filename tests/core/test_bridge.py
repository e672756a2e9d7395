"""The enqueue path on memory://: records, routes, all-or-nothing writes, keys, chains, retry."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest

import taskbridge
from taskbridge import (
    ArgumentsNotSerializable,
    Bridge,
    EnqueueError,
    InvalidTaskOptions,
    ResultNotFound,
    RetryPolicy,
    Status,
    TaskNotRegistered,
    UnsupportedFeature,
    _registry,
    chain,
    task,
)
from taskbridge._bridge import set_bridge
from taskbridge.testing.recorder import HookRecorder

from .conftest import run_all

calls: list[tuple[str, Any]] = []


@task(name="bridge.echo")
def echo(value: Any = None, **extra: Any) -> Any:
    calls.append(("echo", value))
    return value


@task(name="bridge.boom")
def boom(message: str = "boom") -> None:
    calls.append(("boom", message))
    raise ValueError(message)


@task(name="bridge.add")
def add(a: int, b: int = 0, *, x: int = 0) -> int:
    calls.append(("add", a))
    return a + b + x


@pytest.fixture(autouse=True)
def _clear_calls() -> None:
    calls.clear()


def nothing_written(bridge: Bridge) -> bool:
    return bridge.count() == 0 and not bridge.backend.sent  # type: ignore[attr-defined]


def test_enqueue_records_a_pending_execution_with_every_field(bridge: Bridge) -> None:
    """enqueue stores a PENDING record with what was asked and sends one envelope."""

    @task(name="bridge.fields", queue="q1", priority=3, retry=RetryPolicy(max_attempts=4))
    def fields(a: int, b: Any = None) -> None:
        return None

    before = time.time()
    result = fields.using(bridge=bridge, idempotency_key="k1", delay=30).enqueue(1, b={"x": [1]})
    assert result.status is Status.PENDING
    assert (result.task_name, result.queue, result.priority) == ("bridge.fields", "q1", 3)
    assert (result.args, result.kwargs) == ([1], {"b": {"x": [1]}})
    assert (result.attempts, result.max_attempts) == (0, 4)
    assert (result.idempotency_key, result.deduplicated) == ("k1", False)
    assert result.value is None and result.error is None and result.progress is None
    assert result.enqueued_at is not None and result.run_at is not None
    assert before - 1 <= result.enqueued_at.timestamp() <= time.time() + 1
    assert result.run_at - result.enqueued_at == dt.timedelta(seconds=30)
    assert result.started_at is None and result.finished_at is None
    [envelope] = bridge.backend.sent  # type: ignore[attr-defined]
    assert (envelope.id, envelope.attempt, envelope.max_attempts) == (result.id, 1, 4)
    assert (envelope.args, envelope.kwargs) == ((1,), {"b": {"x": [1]}})
    assert bridge.get_result(result.id).record == result.record


def test_run_at_is_stored_as_given(bridge: Bridge) -> None:
    """run_at in any timezone is stored as the same instant."""
    when = dt.datetime(2030, 5, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    result = echo.using(bridge=bridge, run_at=when).enqueue()
    assert result.run_at == when
    assert result.run_at is not None and result.run_at.tzinfo == dt.UTC


def test_queue_precedence_and_routes() -> None:
    """using(queue=) beats the task's queue, which beats routes, which beat default_queue."""
    bridge = Bridge("memory://", routes={"reports.*": "slow"}, default_queue="main")

    @task(name="reports.daily")
    def daily() -> None:
        return None

    @task(name="reports.pinned", queue="pinned")
    def pinned() -> None:
        return None

    on = {"bridge": bridge}
    assert daily.using(**on).enqueue().queue == "slow"
    assert pinned.using(**on).enqueue().queue == "pinned"
    assert pinned.using(queue="urgent", **on).enqueue().queue == "urgent"
    assert echo.using(**on).enqueue().queue == "main"


def test_enqueue_by_name(bridge: Bridge) -> None:
    """bridge.enqueue(name, ...) enqueues a registered task; an unknown name is refused."""
    assert bridge.enqueue("bridge.add", 1, b=2).task_name == "bridge.add"
    with pytest.raises(TaskNotRegistered):
        bridge.enqueue("bridge.never-defined", 1)


@pytest.mark.parametrize(
    "make_call",
    [
        lambda b: echo.using(bridge=b).enqueue(dt.datetime.now(dt.UTC)),
        lambda b: echo.using(bridge=b).enqueue(extra={"s": {1}}),
        lambda b: echo.using(bridge=b, queue="not a queue").enqueue(1),
        lambda b: echo.using(bridge=b).enqueue_many([(1,), (object(),)]),
        lambda b: b.enqueue_calls([(echo, (1,), [("not", "a mapping")])]),
        lambda b: chain(echo.s(1), echo.s(b"bytes")).enqueue(),
    ],
)
def test_bad_input_writes_nothing(bridge: Bridge, make_call: Any) -> None:
    """Non-JSON values, bad queues and bad kwargs fail before anything is stored or sent."""
    previous = set_bridge(bridge)
    try:
        with pytest.raises((ArgumentsNotSerializable, InvalidTaskOptions)):
            make_call(bridge)
    finally:
        set_bridge(previous)
    assert nothing_written(bridge)


def test_bad_generated_idempotency_key_writes_nothing(bridge: Bridge) -> None:
    """A key function that returns a non-str or empty key is refused before writing."""

    @task(name="bridge.badkey", idempotency_key=lambda n: n)
    def keyed(n: Any) -> None:
        return None

    for bad in (5, ""):
        with pytest.raises(InvalidTaskOptions, match="idempotency key"):
            keyed.using(bridge=bridge).enqueue(bad)
    assert nothing_written(bridge)


def test_a_task_missing_from_the_registry_is_refused(bridge: Bridge) -> None:
    """A Task object whose name is not registered (to this function) cannot be enqueued."""

    @task(name="bridge.throwaway")
    def throwaway() -> None:
        return None

    _registry.unregister("bridge.throwaway")
    with pytest.raises(TaskNotRegistered, match="module level"):
        throwaway.using(bridge=bridge).enqueue()
    assert nothing_written(bridge)


def test_later_chain_steps_must_be_registered(bridge: Bridge) -> None:
    """A chain naming an unregistered later step is refused before anything is written."""

    @task(name="bridge.gone")
    def gone(value: Any) -> None:
        return None

    _registry.unregister("bridge.gone")
    with pytest.raises(TaskNotRegistered):
        chain(echo.using(bridge=bridge).s(1), gone.s()).enqueue()
    assert nothing_written(bridge)


@pytest.mark.usefixtures("test_engines")
def test_a_refusing_backend_leaves_no_record_and_no_claimed_key(recorder: HookRecorder) -> None:
    """When the backend refuses, enqueue raises EnqueueError and writes nothing at all."""
    bridge = Bridge("refusing://")
    keyed = echo.using(bridge=bridge, idempotency_key="only-once")
    with pytest.raises(EnqueueError, match="broker down") as caught:
        keyed.enqueue(1)
    assert isinstance(caught.value.__cause__, ConnectionError)
    with pytest.raises(EnqueueError):
        echo.using(bridge=bridge).enqueue_many([(1,), (2,)])
    with pytest.raises(EnqueueError):
        chain(echo.using(bridge=bridge).s(1), echo.s()).enqueue()
    assert bridge.count() == 0
    assert recorder.events == []

    bridge.backend.refuse = False  # type: ignore[attr-defined]
    result = keyed.enqueue(1)
    assert not result.deduplicated and bridge.count() == 1


def test_a_live_key_deduplicates(bridge: Bridge, recorder: HookRecorder) -> None:
    """A second enqueue with a live key sends nothing and returns the same id, deduplicated."""
    keyed = echo.using(bridge=bridge, idempotency_key="welcome:42")
    first, second = keyed.enqueue(1), keyed.enqueue(2)
    assert second.id == first.id
    assert (first.deduplicated, second.deduplicated) == (False, True)
    assert second.args == [1]
    assert len(bridge.backend.sent) == 1  # type: ignore[attr-defined]
    assert recorder.of(first.id) == ["enqueued"]
    run_all(bridge)
    assert keyed.enqueue(3).id == first.id  # SUCCEEDED within idempotency_ttl
    assert calls == [("echo", 1)]


def test_keys_from_a_function_of_the_arguments(bridge: Bridge) -> None:
    """@task(idempotency_key=f) derives the key from the call's arguments."""

    @task(name="bridge.keyed", idempotency_key=lambda user, **kw: f"welcome:{user}")
    def welcome(user: int, **kw: Any) -> None:
        return None

    on_bridge = welcome.using(bridge=bridge)
    first = on_bridge.enqueue(7, lang="en")
    assert first.idempotency_key == "welcome:7"
    assert on_bridge.enqueue(7).id == first.id
    assert on_bridge.enqueue(8).id != first.id


def test_failed_and_canceled_release_the_key(bridge: Bridge) -> None:
    """After FAILED or CANCELED the same key enqueues a new execution."""
    failing = boom.using(bridge=bridge, idempotency_key="k")
    first = failing.enqueue()
    run_all(bridge)
    assert first.refresh().status is Status.FAILED
    second = failing.enqueue()
    assert second.id != first.id and not second.deduplicated
    second.cancel()
    third = failing.enqueue()
    assert third.id not in (first.id, second.id)


def test_succeeded_keys_expire_after_the_ttl() -> None:
    """A SUCCEEDED execution holds its key for idempotency_ttl seconds, then frees it."""
    bridge = Bridge("memory://", idempotency_ttl=0.05)
    keyed = echo.using(bridge=bridge, idempotency_key="short")
    first = keyed.enqueue(1)
    run_all(bridge)
    deadline = time.monotonic() + 5
    while (again := keyed.enqueue(2)).deduplicated:
        assert time.monotonic() < deadline, "the key was never released"
        time.sleep(0.01)
    assert again.id != first.id


def test_racing_producers_on_one_key_make_one_execution(bridge: Bridge) -> None:
    """Eight threads enqueueing one key at once get one id; exactly one send."""
    barrier = threading.Barrier(8)
    ids: list[str] = []

    def produce() -> None:
        barrier.wait()
        ids.append(echo.using(bridge=bridge, idempotency_key="race").enqueue(1).id)

    threads = [threading.Thread(target=produce) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 1 and len(ids) == 8
    assert len(bridge.backend.sent) == 1  # type: ignore[attr-defined]


def test_chains_pass_each_value_on(default_bridge: Bridge) -> None:
    """Each step receives the previous value first; the chain's result is the last value."""
    result = chain(add.s(1, 2), add.s(10), add.s(x=100)).enqueue()
    assert result.status is Status.PENDING
    run_all(default_bridge)
    assert result.refresh().status is Status.SUCCEEDED
    assert result.value == 113
    assert calls == [("add", 1), ("add", 3), ("add", 13)]


def test_a_later_step_keeps_the_queue_and_priority_given_with_using(
    default_bridge: Bridge,
) -> None:
    """using(queue=, priority=) on a later step's signature decides where that step runs."""
    result = chain(add.s(1, 2), add.using(queue="slow", priority=7).s(10)).enqueue()
    run_all(default_bridge)
    assert result.wait(timeout=5) == 13
    steps = [r for r in default_bridge.list(task_name=add.name) if r.args[0] == 3]
    assert [(r.queue, r.priority) for r in steps] == [("slow", 7)]


def test_a_failing_step_fails_the_chain_and_stops_it(default_bridge: Bridge) -> None:
    """The chain ends FAILED with the failing step's error; later steps never run."""
    result = chain(echo.s("go"), boom.s(), echo.s()).enqueue()
    run_all(default_bridge)
    assert result.refresh().status is Status.FAILED
    assert result.error is not None
    assert (result.error.type, result.error.message) == ("ValueError", "go")
    assert calls == [("echo", "go"), ("boom", "go")]


def test_canceling_a_pending_chain_runs_nothing(default_bridge: Bridge) -> None:
    """A chain canceled before it starts ends CANCELED and none of its steps run."""
    result = chain(echo.s(1), echo.s()).enqueue()
    result.cancel()
    run_all(default_bridge)
    assert result.refresh().status is Status.CANCELED
    assert calls == []


def test_cancel_a_pending_task(bridge: Bridge, recorder: HookRecorder) -> None:
    """A PENDING task canceled becomes CANCELED at once and never runs."""
    result = echo.using(bridge=bridge).enqueue(1)
    assert result.cancel() is result
    assert result.status is Status.CANCELED and result.finished_at is not None
    run_all(bridge)
    assert result.refresh().status is Status.CANCELED
    assert calls == []
    assert recorder.of(result.id) == ["enqueued", "canceled"]


def test_cancel_leaves_final_states_alone(bridge: Bridge) -> None:
    """Canceling a finished task changes nothing; an unknown id is ResultNotFound."""
    result = echo.using(bridge=bridge).enqueue(1)
    run_all(bridge)
    assert bridge.cancel(result.id).status is Status.SUCCEEDED
    with pytest.raises(ResultNotFound):
        bridge.cancel("no-such-id")


def test_failed_lists_dead_letters_and_retry_reenqueues(bridge: Bridge) -> None:
    """failed() lists FAILED executions; retry(id) enqueues a new one and delists the old."""
    succeeded = echo.using(bridge=bridge).enqueue(0)
    failures = [boom.using(bridge=bridge).enqueue(f"no {n}") for n in range(3)]
    run_all(bridge)
    assert [r.id for r in bridge.failed()] == [r.id for r in reversed(failures)]
    assert bridge.count(status="FAILED") == 3

    again = bridge.retry(failures[0].id)
    assert again.id != failures[0].id and again.status is Status.PENDING
    assert (again.task_name, again.args, again.attempts) == ("bridge.boom", ["no 0"], 0)
    assert failures[0].refresh().retried_as == again.id
    assert failures[0].id not in [r.id for r in bridge.failed()]
    with pytest.raises(InvalidTaskOptions, match="retried as"):
        bridge.retry(failures[0].id)
    with pytest.raises(InvalidTaskOptions, match="SUCCEEDED"):
        bridge.retry(succeeded.id)
    with pytest.raises(ResultNotFound):
        bridge.retry("no-such-id")
    run_all(bridge)
    assert again.refresh().status is Status.FAILED


@pytest.mark.usefixtures("test_engines")
@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"priority": 5}, "one FIFO per queue"),
        ({"timeout": 5}, "cannot stop a running task"),
        ({"delay": 5}, "no scheduler"),
        ({"run_at": dt.datetime(2030, 1, 1, tzinfo=dt.UTC)}, "no scheduler"),
    ],
)
def test_unsupported_features_are_refused_with_the_reason(
    options: dict[str, Any], reason: str
) -> None:
    """Asking a backend for what its capabilities deny is UnsupportedFeature, writing nothing."""
    bridge = Bridge("limited://")
    with pytest.raises(UnsupportedFeature, match=reason):
        echo.using(bridge=bridge, **options).enqueue(1)
    assert nothing_written(bridge)
    assert echo.using(bridge=bridge, priority=0).enqueue(1).status is Status.PENDING


def test_aenqueue_from_async_code(bridge: Bridge) -> None:
    """aenqueue enqueues from a coroutine and returns the Result."""
    import asyncio

    result = asyncio.run(echo.using(bridge=bridge).aenqueue(5))
    assert result.status is Status.PENDING and result.args == [5]


def test_configure_sets_the_default_bridge() -> None:
    """configure(url) makes the bridge every @task uses; get_bridge returns it."""
    previous = set_bridge(None)
    try:
        bridge = taskbridge.configure("memory://")
        assert taskbridge.get_bridge() is bridge
        assert echo.enqueue(1).bridge is bridge
        assert bridge.count() == 1
    finally:
        set_bridge(previous)
