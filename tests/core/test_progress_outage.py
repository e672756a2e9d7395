"""Progress and heartbeats during a store outage, on memory:// made to fail like a Redis that
is down: the task runs on, the latest progress is kept and sent once the store answers, and
the outage is logged once."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from taskbridge import Bridge, Status, TaskContext, task
from taskbridge.testing.polling import wait_for

from .conftest import run_all


class Outage(ConnectionError):
    """The store's 'unreachable right now' error (its declared ``transient_errors``)."""


class Switch:
    """Makes a memory store's progress and heartbeat calls fail while ``down`` is set."""

    def __init__(self, bridge: Bridge) -> None:
        self.down = False
        self.refused: dict[str, int] = {"set_progress": 0, "heartbeat": 0}
        store = bridge.store
        store.transient_errors = (Outage,)  # type: ignore[attr-defined]
        for name in self.refused:
            setattr(store, name, self._failing(name, getattr(store, name)))

    def _failing(self, name: str, call: Any) -> Any:
        def maybe_fail(*args: Any, **kwargs: Any) -> Any:
            if self.down:
                self.refused[name] += 1
                raise Outage(f"{name}: connection refused")
            return call(*args, **kwargs)

        return maybe_fail


@pytest.fixture
def switch(bridge: Bridge) -> Iterator[Switch]:
    yield Switch(bridge)


def outage_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if "did not answer" in r.getMessage() or "answers again" in r.getMessage()]


def test_progress_during_an_outage_is_kept_and_the_task_succeeds(
    bridge: Bridge, switch: Switch, caplog: pytest.LogCaptureFixture
) -> None:
    """set_progress raises nothing while the store is down; the task ends SUCCEEDED with the
    last progress it reported, logged once for the outage and once for its end."""

    @task(name="outage.steps", context=True)
    def steps(context: TaskContext) -> str:
        context.set_progress(10, "started")
        switch.down = True
        for percent in range(11, 91):
            context.set_progress(percent, f"step {percent}")
        wait_for(lambda: switch.refused["heartbeat"] >= 3, 10, "heartbeats refused")
        switch.down = False
        return "done"

    caplog.set_level(logging.WARNING, logger="taskbridge.worker")
    result = steps.using(bridge=bridge).enqueue()
    run_all(bridge)
    assert result.refresh().status is Status.SUCCEEDED, result.error
    assert result.progress == (90.0, "step 90")
    assert result.progress_log[-1].message == "step 90"
    assert switch.refused["set_progress"] >= 1
    lines = outage_lines(caplog)
    assert len(lines) == 2, lines
    assert "did not answer" in lines[0] and "answers again" in lines[1]


def test_the_heartbeat_sends_progress_kept_during_an_outage(
    bridge: Bridge, switch: Switch
) -> None:
    """Once the store answers, the next heartbeat records the kept progress, without another
    set_progress call from the task."""
    seen: list[Any] = []

    @task(name="outage.one_report", context=True)
    def one_report(context: TaskContext) -> None:
        switch.down = True
        context.set_progress(70, "kept")
        switch.down = False
        seen.append(wait_for(lambda: bridge.get_result(context.id).progress, 10,
                             "the heartbeat to send the kept progress"))

    result = one_report.using(bridge=bridge).enqueue()
    run_all(bridge)
    assert seen == [(70.0, "kept")]
    assert result.refresh().status is Status.SUCCEEDED


def test_progress_kept_at_the_end_of_a_task_is_recorded(bridge: Bridge, switch: Switch) -> None:
    """A report kept when the task returns is sent before its outcome is recorded."""

    @task(name="outage.last_word", context=True)
    def last_word(context: TaskContext) -> int:
        switch.down = True
        context.set_progress(100, "finished")
        switch.down = False
        return 1

    result = last_word.using(bridge=bridge).enqueue()
    run_all(bridge)
    assert result.refresh().status is Status.SUCCEEDED
    assert result.progress == (100.0, "finished")


def test_a_store_bug_in_set_progress_still_fails_the_task(bridge: Bridge) -> None:
    """Only the store's transient errors are ridden out: any other error reaches the task."""

    def broken(*args: Any, **kwargs: Any) -> None:
        raise KeyError("a bug")

    bridge.store.set_progress = broken  # type: ignore[method-assign]

    @task(name="outage.bug", context=True)
    def reports(context: TaskContext) -> None:
        context.set_progress(5)

    result = reports.using(bridge=bridge).enqueue()
    run_all(bridge)
    assert result.refresh().status is Status.FAILED
    assert result.error is not None and result.error.type == "KeyError"
