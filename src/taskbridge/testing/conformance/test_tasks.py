"""CONTRACT §2: defining tasks — decorator forms, names, inline calls, context."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from taskbridge import DuplicateTaskName, Task, _registry, task
from taskbridge.testing.conformance.harness import Harness
from taskbridge.testing.conformance.tasks import add, async_add, whoami


@pytest.fixture
def scratch_names() -> Iterator[list[str]]:
    """Task names a test registers, unregistered afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        _registry.unregister(name)


def test_decorator_forms(scratch_names: list[str]) -> None:
    """@task and @task(...) both make tasks, from plain and async functions."""

    @task
    def plain(x: int) -> int:
        return x

    @task(name="conformance.scratch.with_options", queue="conformance-other")
    async def coroutine(x: int) -> int:
        return x

    scratch_names += [plain.name, coroutine.name]
    assert isinstance(plain, Task) and isinstance(coroutine, Task)
    assert not plain.is_async and coroutine.is_async
    assert coroutine.queue == "conformance-other"


def test_default_name_is_module_and_qualname(scratch_names: list[str]) -> None:
    """A task is named module.qualname unless name= is given."""

    @task
    def named_by_default() -> None: ...

    scratch_names.append(named_by_default.name)
    assert named_by_default.name == f"{__name__}.{named_by_default.func.__qualname__}"
    assert add.name == "conformance.add"


def test_two_tasks_with_one_name_is_an_error(scratch_names: list[str]) -> None:
    """Registering a second function under a taken name fails at definition time."""

    @task(name="conformance.scratch.taken")
    def first() -> None: ...

    scratch_names.append(first.name)
    with pytest.raises(DuplicateTaskName, match=r"conformance\.scratch\.taken"):

        @task(name="conformance.scratch.taken")
        def second() -> None: ...


def test_calling_a_task_runs_it_inline(backend: Harness) -> None:
    """Calling the task (or .call) runs the function in place and enqueues nothing."""
    before = backend.bridge.count(task_name=add.name)
    assert add(2, 3) == 5
    assert add.call(2, b=4) == 6
    assert asyncio.run(async_add(1, 1)) == 2
    assert backend.bridge.count(task_name=add.name) == before


def test_async_task_runs_on_a_worker(backend: Harness) -> None:
    """An async def task is awaited by the worker and its value stored."""
    result = backend.finish(async_add.enqueue(40, 2))
    assert result.value == 42


def test_context_task_receives_its_context(backend: Harness) -> None:
    """A context=True task gets a TaskContext with its id and attempt numbers."""
    result = whoami.enqueue()
    assert backend.finish(result).value == {"id": result.id, "attempt": 1, "max_attempts": 1}

