"""Defining tasks: the decorator, names, the registry, inline calls, options, enqueue_many."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from taskbridge import (
    Bridge,
    DuplicateTaskName,
    InvalidTaskOptions,
    RetryPolicy,
    Task,
    TaskNotRegistered,
    _registry,
    chain,
    task,
)


@task
def module_level(a: int, b: int = 0) -> int:
    """Add two numbers."""
    return a + b


def test_bare_decorator_makes_a_named_registered_task() -> None:
    """@task gives a Task named module.qualname, registered, keeping the function's metadata."""
    assert isinstance(module_level, Task)
    assert module_level.name == f"{__name__}.module_level"
    assert _registry.lookup(module_level.name) is module_level
    assert module_level.__name__ == "module_level"
    assert module_level.__doc__ == "Add two numbers."


def test_calling_a_task_runs_it_inline() -> None:
    """Calling the task, or .call(), runs the function unchanged in this process."""
    assert module_level(2, b=3) == 5
    assert module_level.call(2, b=3) == 5


def test_decorator_with_options() -> None:
    """@task(...) stores the options it is given."""
    policy = RetryPolicy(max_attempts=3)

    @task(name="emails.send", queue="emails", priority=5, retry=policy, timeout=30, context=True)
    def send(context: Any, to: str) -> str:
        return to

    assert send.name == "emails.send"
    assert (send.queue, send.priority, send.retry, send.timeout, send.context) == (
        "emails", 5, policy, 30.0, True,
    )
    assert _registry.lookup("emails.send") is send


def test_local_functions_are_named_by_qualname() -> None:
    """A task defined inside a function is named with its full qualname."""

    @task
    def inner() -> None:
        return None

    assert inner.name == f"{__name__}.{inner.func.__qualname__}"
    assert "<locals>" in inner.name


def test_async_tasks_bare_and_with_options() -> None:
    """@task and @task(...) work on async def; calling returns the coroutine to await."""

    @task
    async def double(x: int) -> int:
        return 2 * x

    @task(queue="async")
    async def triple(x: int) -> int:
        return 3 * x

    assert double.is_async and triple.is_async
    assert not module_level.is_async
    assert asyncio.run(double(4)) == 8
    assert asyncio.run(triple.call(4)) == 12


def test_duplicate_names_from_different_functions_are_refused() -> None:
    """Two different functions under one name raise DuplicateTaskName when defined."""

    @task(name="dup.name")
    def first() -> None:
        return None

    with pytest.raises(DuplicateTaskName, match=r"dup\.name.*first.*pass name="):

        @task(name="dup.name")
        def second() -> None:
            return None

    assert _registry.lookup("dup.name") is first


def test_redefining_the_same_function_is_not_a_clash() -> None:
    """Defining the same function again (a module re-import) replaces the task quietly."""
    tasks = []
    for _ in range(2):

        @task(name="same.definition")
        def again() -> None:
            return None

        tasks.append(again)
    assert _registry.lookup("same.definition") is tasks[1]


def test_unknown_names_are_not_registered() -> None:
    """Looking up a name nobody registered is TaskNotRegistered, saying how to fix it."""
    with pytest.raises(TaskNotRegistered, match="import the module"):
        _registry.lookup("no.such.task")


def test_using_returns_a_new_task_and_leaves_the_original_alone() -> None:
    """using() makes a copy with options; the original task keeps its own."""
    fast = module_level.using(queue="fast", priority=3)
    assert fast is not module_level
    assert fast.options.queue == "fast" and fast.options.priority == 3
    assert module_level.options.queue is None and module_level.options.priority is None
    assert fast(1, 1) == 2
    later = fast.using(delay=5)
    assert (later.options.queue, later.options.delay) == ("fast", 5)
    assert fast.options.delay is None


def test_later_delay_or_run_at_replaces_the_earlier() -> None:
    """using(delay=) after using(run_at=) (or the reverse) keeps only the latest."""
    when = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    assert module_level.using(run_at=when).using(delay=3).options.run_at is None
    assert module_level.using(delay=3).using(run_at=when).options.delay is None


NAIVE = dt.datetime(2030, 1, 1)
AWARE = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"priority": 101}, "priority"),
        ({"priority": -101}, "priority"),
        ({"priority": 1.5}, "priority"),
        ({"priority": True}, "priority"),
        ({"priority": "5"}, "priority"),
        ({"run_at": NAIVE}, "timezone-aware"),
        ({"run_at": "2030-01-01T00:00:00Z"}, "timezone-aware"),
        ({"delay": 5, "run_at": AWARE}, "not both"),
        ({"delay": -1}, "delay"),
        ({"delay": float("nan")}, "delay"),
        ({"delay": True}, "delay"),
        ({"delay": "5"}, "delay"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": -1}, "timeout"),
        ({"timeout": "30"}, "timeout"),
        ({"timeout": True}, "timeout"),
        ({"colour": "blue"}, "unknown option.*colour"),
    ],
)
def test_bad_using_options_are_refused(options: dict[str, Any], message: str) -> None:
    """using() refuses out-of-range, mistyped, conflicting and unknown options."""
    with pytest.raises(InvalidTaskOptions, match=message):
        module_level.using(**options)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"priority": 500}, "priority"),
        ({"priority": None}, "priority"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": -5}, "timeout"),
        ({"timeout": "1"}, "timeout"),
        ({"timeout": False}, "timeout"),
        ({"queue": "no spaces please"}, "queue name"),
        ({"name": ""}, "name"),
        ({"name": 5}, "name"),
        ({"retry": 3}, "RetryPolicy"),
        ({"idempotency_key": "fixed"}, "callable"),
    ],
)
def test_bad_decorator_options_are_refused(options: dict[str, Any], message: str) -> None:
    """@task(...) refuses bad options when the task is defined, registering nothing."""
    before = set(_registry.all_tasks())
    with pytest.raises(InvalidTaskOptions, match=message):

        @task(**options)
        def bad() -> None:
            return None

    assert set(_registry.all_tasks()) == before


def test_decorating_a_non_callable_is_refused() -> None:
    """@task on something that is not a function is InvalidTaskOptions."""
    with pytest.raises(InvalidTaskOptions, match="decorates a function"):
        task(42)  # type: ignore[call-overload]


def test_enqueue_many_accepts_argument_tuples_and_args_kwargs_pairs(bridge: Bridge) -> None:
    """enqueue_many items are argument sequences or ((args), {kwargs}) pairs."""
    results = module_level.using(bridge=bridge).enqueue_many(
        [(1, 2), [3], ((4,), {"b": 5}), ([6], {}), ()]
    )
    assert [(r.args, r.kwargs) for r in results] == [
        ([1, 2], {}), ([3], {}), ([4], {"b": 5}), ([6], {}), ([], {}),
    ]
    assert len({r.id for r in results}) == 5


@pytest.mark.parametrize("item", [5, "ab", {"a": 1}, None])
def test_enqueue_many_refuses_other_items_and_writes_nothing(bridge: Bridge, item: Any) -> None:
    """A malformed item fails the whole batch before anything is stored."""
    with pytest.raises(InvalidTaskOptions, match="enqueue_many"):
        module_level.using(bridge=bridge).enqueue_many([(1,), item])
    assert bridge.count() == 0


def test_chain_needs_signatures() -> None:
    """chain() with no steps, or with something other than a signature, is refused."""
    with pytest.raises(InvalidTaskOptions, match="at least one step"):
        chain()
    with pytest.raises(InvalidTaskOptions, match="signatures"):
        chain(module_level.s(1), module_level)  # type: ignore[arg-type]
    step = module_level.s(1, b=2)
    assert (step.task, step.args, step.kwargs) == (module_level, (1,), {"b": 2})
