"""The taskbridge_memory fixture and its kit, as an application's own tests would use them."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import taskbridge
from taskbridge import (
    ArgumentsNotSerializable,
    Retry,
    RetryPolicy,
    Status,
    TaskContext,
    chain,
    task,
)
from taskbridge.testing.kit import MemoryKit


@task(name="kit_tests.add")
def add(a: int, b: int = 0) -> int:
    return a + b


@task(name="kit_tests.fail")
def fail() -> None:
    raise ValueError("kit failure")


@task(name="kit_tests.slow_retry", context=True, retry=RetryPolicy(max_attempts=3, backoff=3600))
def slow_retry(context: TaskContext) -> int:
    """Fails twice with an hour's backoff between attempts."""
    if context.attempt < 3:
        raise ConnectionError("not yet")
    return context.attempt


@task(name="kit_tests.retry_later", context=True, retry=RetryPolicy(max_attempts=2))
def retry_later(context: TaskContext) -> int:
    if context.attempt == 1:
        raise Retry(delay=3600)
    return context.attempt


def test_default_bridge_is_a_fresh_memory_bridge(taskbridge_memory: MemoryKit) -> None:
    """The fixture makes a fresh memory:// bridge the default, with no jobs yet."""
    assert taskbridge.get_bridge() is taskbridge_memory.bridge
    assert taskbridge_memory.bridge.url.engine == "memory"
    assert taskbridge_memory.jobs == {}


def test_enqueued_jobs_wait_until_run(taskbridge_memory: MemoryKit) -> None:
    """Enqueued tasks are listed as pending until run_pending runs them."""
    first, second = add.enqueue(1, 2), add.enqueue(3)
    assert list(taskbridge_memory.jobs) == [first.id, second.id]
    assert [r.id for r in taskbridge_memory.pending_jobs] == [first.id, second.id]
    assert taskbridge_memory.finished_jobs == []
    assert taskbridge_memory.run_pending() == 2
    assert taskbridge_memory.pending_jobs == []
    assert [r.value for r in taskbridge_memory.succeeded_jobs] == [3, 3]
    assert first.refresh().status is Status.SUCCEEDED


def test_run_pending_skips_waiting_out_delays(taskbridge_memory: MemoryKit) -> None:
    """run_pending runs delayed tasks, backoff retries and Retry(delay) at once."""
    delayed = add.using(delay=3600).enqueue(1, 1)
    retried = slow_retry.enqueue()
    asked = retry_later.enqueue()
    taskbridge_memory.run_pending()
    assert delayed.refresh().value == 2
    assert (retried.refresh().status, retried.attempts) == (Status.SUCCEEDED, 3)
    assert (asked.refresh().status, asked.value) == (Status.SUCCEEDED, 2)


def test_run_pending_runs_chain_steps(taskbridge_memory: MemoryKit) -> None:
    """run_pending runs every step of a chain."""
    result = chain(add.s(1, 2), add.s(10)).enqueue()
    taskbridge_memory.run_pending()
    assert (result.refresh().status, result.value) == (Status.SUCCEEDED, 13)


def test_failed_jobs(taskbridge_memory: MemoryKit) -> None:
    """failed_jobs lists FAILED executions with their errors."""
    fail.enqueue()
    add.enqueue(1)
    taskbridge_memory.run_pending()
    [failed] = taskbridge_memory.failed_jobs
    assert failed.error is not None and failed.error.message == "kit failure"
    assert len(taskbridge_memory.finished_jobs) == 2


def test_reset_forgets_everything(taskbridge_memory: MemoryKit) -> None:
    """reset() forgets jobs and waiting messages."""
    add.enqueue(1)
    taskbridge_memory.reset()
    assert taskbridge_memory.jobs == {}
    assert taskbridge_memory.run_pending() == 0


def test_assert_enqueued_matches_details(taskbridge_memory: MemoryKit) -> None:
    """assert_enqueued matches by task, args, kwargs, queue and count, and returns matches."""
    add.enqueue(1, b=2)
    add.using(queue="slow").enqueue(1, b=2)
    found = taskbridge_memory.assert_enqueued(add, args=(1,), kwargs={"b": 2}, count=2)
    assert len(found) == 2
    taskbridge_memory.assert_enqueued(add, queue="slow", count=1)
    taskbridge_memory.assert_enqueued("kit_tests.add")
    taskbridge_memory.assert_not_enqueued(fail)
    taskbridge_memory.assert_not_enqueued(add, args=[2])


def test_assert_enqueued_failure_lists_what_was_enqueued(taskbridge_memory: MemoryKit) -> None:
    """A failing assert_enqueued says what was expected and lists every enqueued job."""
    add.enqueue(5, b=6)
    with pytest.raises(AssertionError) as caught:
        taskbridge_memory.assert_enqueued(add, args=[7], count=1)
    message = str(caught.value)
    assert "kit_tests.add to be enqueued exactly 1 time(s) with args=[7]" in message
    assert "kit_tests.add(5, b=6) on 'default' [PENDING, priority 0]" in message


def test_assert_not_enqueued_failure_lists_what_was_enqueued(
    taskbridge_memory: MemoryKit,
) -> None:
    """A failing assert_not_enqueued lists what was enqueued."""
    fail.enqueue()
    with pytest.raises(AssertionError, match=r"(?s)not to be enqueued.*kit_tests\.fail\(\)"):
        taskbridge_memory.assert_not_enqueued(fail)


def test_nothing_enqueued_message(taskbridge_memory: MemoryKit) -> None:
    """With nothing enqueued, the failure message says so."""
    with pytest.raises(AssertionError, match="Nothing was enqueued"):
        taskbridge_memory.assert_enqueued(add)


def test_production_rules_apply(taskbridge_memory: MemoryKit) -> None:
    """The kit applies the same JSON and idempotency rules as production."""
    with pytest.raises(ArgumentsNotSerializable, match=r"args\[0\]"):
        add.enqueue({1, 2})
    first = add.using(idempotency_key="kit").enqueue(1)
    second = add.using(idempotency_key="kit").enqueue(1)
    assert second.deduplicated and second.id == first.id
    taskbridge_memory.assert_enqueued(add, count=1)


def test_fixture_restores_the_previous_default(tmp_path: Path) -> None:
    """In a project's own pytest run, the fixture (found through the pytest11 entry point)
    replaces the default bridge for one test and puts the previous one back."""
    (tmp_path / "test_app.py").write_text(textwrap.dedent("""
        import taskbridge
        from taskbridge._bridge import set_bridge

        @taskbridge.task(name="app.ping")
        def ping():
            return "pong"

        APP_BRIDGE = taskbridge.Bridge("memory://")

        def test_1_app_configures_its_bridge():
            set_bridge(APP_BRIDGE)

        def test_2_fixture_swaps_it(taskbridge_memory):
            assert taskbridge.get_bridge() is taskbridge_memory.bridge is not APP_BRIDGE
            ping.enqueue()
            taskbridge_memory.run_pending()
            taskbridge_memory.assert_enqueued(ping, count=1)
            assert taskbridge_memory.succeeded_jobs[0].value == "pong"

        def test_3_previous_default_is_back():
            assert taskbridge.get_bridge() is APP_BRIDGE
            assert APP_BRIDGE.count() == 0
    """))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_app.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 passed" in run.stdout


def test_url_option_is_registered(pytestconfig: pytest.Config) -> None:
    """The plugin adds the repeatable --taskbridge-url option."""
    assert pytestconfig.getoption("taskbridge_url", default="missing") != "missing"
