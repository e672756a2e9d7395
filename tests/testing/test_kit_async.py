"""The taskbridge_memory kit in async tests (pytest-asyncio), where an event loop is already
running: ``await kit.arun_pending()``, and the sync ``run_pending()`` still working."""

from __future__ import annotations

import asyncio

import pytest

from taskbridge import Status, task
from taskbridge.testing.kit import MemoryKit


@task(name="kit_async.double")
async def double(value: int) -> int:
    await asyncio.sleep(0)
    return 2 * value


@task(name="kit_async.chained")
async def chained(value: int) -> int:
    return (await asyncio.to_thread(double.enqueue, value)).id and value


@pytest.mark.asyncio
async def test_arun_pending_runs_async_tasks_from_an_async_test(
    taskbridge_memory: MemoryKit,
) -> None:
    """await arun_pending() runs async tasks to SUCCEEDED while the test's loop runs."""
    result = await double.aenqueue(21)
    assert await taskbridge_memory.arun_pending() == 1
    assert result.refresh().status is Status.SUCCEEDED and result.value == 42


@pytest.mark.asyncio
async def test_sync_run_pending_works_inside_a_running_loop(
    taskbridge_memory: MemoryKit,
) -> None:
    """The sync run_pending() and Result.wait() work inside a running event loop (they used to
    fail every async task with "asyncio.run() cannot be called from a running event loop")."""
    first = double.enqueue(1)
    assert taskbridge_memory.run_pending() == 1
    assert first.refresh().value == 2 and first.status is Status.SUCCEEDED
    second = double.enqueue(5)
    assert second.wait(timeout=10) == 10
    assert taskbridge_memory.failed_jobs == []


@pytest.mark.asyncio
async def test_tasks_that_enqueue_more_run_too(taskbridge_memory: MemoryKit) -> None:
    """Work enqueued by a task run by arun_pending is run by the same call."""
    await chained.aenqueue(3)
    assert await taskbridge_memory.arun_pending() == 2
    assert [r.status for r in taskbridge_memory.finished_jobs] == [Status.SUCCEEDED] * 2
