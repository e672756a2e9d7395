"""CONTRACT §3: enqueueing — results, options, batches, and what is refused before sending."""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskbridge import (
    ArgumentsNotSerializable,
    Bridge,
    EnqueueError,
    InvalidTaskOptions,
    Result,
    Status,
    TaskNotRegistered,
)
from taskbridge.testing.conformance.harness import HEARTBEAT, Harness
from taskbridge.testing.conformance.tasks import add, echo, keyed


def test_enqueue_returns_a_result_that_runs(backend: Harness) -> None:
    """enqueue() returns a Result handle; the task then runs on a worker."""
    result = add.enqueue(2, 3)
    assert isinstance(result, Result)
    assert result.task_name == "conformance.add"
    assert backend.finish(result).value == 5


def test_aenqueue_for_async_producers(backend: Harness) -> None:
    """aenqueue() enqueues from async code."""
    result = asyncio.run(add.aenqueue(1, b=2))
    assert backend.finish(result).value == 3


def test_tuples_arrive_as_lists(backend: Harness) -> None:
    """Tuples in arguments arrive as lists; nested JSON values survive unchanged."""
    payload = {"nested": [1, 2.5, None, True, "x", {"deep": (3, 4)}]}
    result = backend.finish(echo.enqueue((1, 2), flag=False, payload=payload))
    assert result.value == {
        "args": [[1, 2]],
        "kwargs": {"flag": False, "payload": {"nested": [1, 2.5, None, True, "x",
                                                         {"deep": [3, 4]}]}},
    }
    assert result.args == [[1, 2]]


def test_using_queue_routes_to_that_queue(backend: Harness) -> None:
    """using(queue=...) puts the task on that queue, where a worker for it runs it."""
    result = add.using(queue="conformance-other").enqueue(1, 1)
    assert result.queue == "conformance-other"
    assert backend.finish(result).value == 2


def test_enqueue_many(backend: Harness) -> None:
    """enqueue_many() enqueues every call and returns one Result each, in order."""
    results = add.enqueue_many([(1, 2), (3, 4), ((5,), {"b": 6})])
    assert [backend.finish(r).value for r in results] == [3, 7, 11]
    assert len({r.id for r in results}) == 3


def test_unknown_task_name_is_task_not_registered(backend: Harness) -> None:
    """Enqueueing a task name nobody registered raises TaskNotRegistered (a programming error,
    not a transient EnqueueError) and stores nothing."""
    before = backend.bridge.count()
    with pytest.raises(TaskNotRegistered, match=r"conformance\.no_such_task") as caught:
        backend.bridge.enqueue("conformance.no_such_task", 1)
    assert not isinstance(caught.value, EnqueueError)
    assert backend.bridge.count() == before


@pytest.mark.parametrize("priority", [101, -101, 1.5, "high", True])
def test_priority_out_of_range_is_refused(priority: Any) -> None:
    """Priority is an int from -100 to 100; anything else is InvalidTaskOptions."""
    with pytest.raises(InvalidTaskOptions, match="priority"):
        add.using(priority=priority)


BAD_VALUES: list[tuple[Any, str]] = [
    (dt.datetime(2024, 1, 1), "datetime"),
    (decimal.Decimal("1.10"), "Decimal"),
    ({1, 2}, "set"),
    (b"raw", "bytes"),
    (math.nan, "nan"),
    (math.inf, "inf"),
    ({1: "int key"}, "int"),
    (object(), "object"),
]


@pytest.mark.parametrize(("bad", "type_name"), BAD_VALUES, ids=[t for _, t in BAD_VALUES])
def test_non_json_argument_is_refused_before_storing(
    backend: Harness, bad: Any, type_name: str
) -> None:
    """A non-JSON argument raises ArgumentsNotSerializable naming its path and type; nothing
    is stored or sent."""
    before = backend.bridge.count(task_name=echo.name)
    with pytest.raises(ArgumentsNotSerializable) as caught:
        echo.enqueue(1, user={"profile": {"created_at": bad}})
    assert isinstance(caught.value, TypeError)
    message = str(caught.value)
    assert "kwargs['user']['profile']['created_at']" in message
    assert type_name in message
    assert backend.bridge.count(task_name=echo.name) == before


def test_cycle_is_refused(backend: Harness) -> None:
    """A value that contains itself is refused, naming where."""
    cyclic: list[Any] = [1]
    cyclic.append(cyclic)
    with pytest.raises(ArgumentsNotSerializable, match=r"args\[0\]\[1\]"):
        echo.enqueue(cyclic)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                max_size=3),
    max_leaves=8,
)
bad_values = st.sampled_from([v for v, _ in BAD_VALUES]) | st.binary(min_size=1, max_size=3)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(good=json_values, bad=bad_values, depth=st.integers(0, 3))
def test_any_bad_leaf_is_refused(backend: Harness, good: Any, bad: Any, depth: int) -> None:
    """However deep a non-JSON value sits among JSON values, enqueue refuses it and stores
    nothing."""
    value: Any = bad
    path = "kwargs['data']"
    for level in range(depth):
        value = {"k": value, "other": good} if level % 2 else [good, value]
    for level in reversed(range(depth)):
        path += "['k']" if level % 2 else "[1]"
    before = backend.bridge.count(task_name=echo.name)
    with pytest.raises(ArgumentsNotSerializable) as caught:
        echo.enqueue(data=value)
    assert path in str(caught.value)
    assert backend.bridge.count(task_name=echo.name) == before


def test_unreachable_backend_is_enqueue_error(backend: Harness) -> None:
    """With the backend's server unreachable, enqueue raises EnqueueError and leaves no record
    and no claimed idempotency key."""
    url = backend.unreachable_url()
    if url is None:
        pytest.skip(f"{backend.engine}: {backend.capabilities.reason('worker_processes')}; "
                    "there is no server to be unreachable")
    before = backend.bridge.count(task_name=keyed.name)
    key = f"conformance-unreachable-{id(url)}"
    with pytest.raises(EnqueueError):
        down = Bridge(url, heartbeat_interval=HEARTBEAT)
        try:
            keyed.using(bridge=down, idempotency_key=key).enqueue(1)
        finally:
            down.close()
    assert backend.bridge.count(task_name=keyed.name) == before
    # The key was not left claimed: the same key enqueues for real on the working bridge.
    again = backend.park(keyed).using(idempotency_key=key).enqueue(1)
    assert not again.deduplicated
    assert again.cancel().status is Status.CANCELED
