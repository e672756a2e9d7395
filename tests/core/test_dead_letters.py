"""The dead-letter list (CONTRACT §13): filters, discard, and retry, of failed chains too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import taskbridge
from taskbridge import InvalidTaskOptions, Record, Status, _registry, chain, task
from taskbridge._chains import CHAIN_TASK_NAME

from .conftest import run_all

runs: list[tuple[str, Any]] = []


@task(name="dead.add")
def add(a: int, b: int = 0) -> int:
    runs.append(("add", a))
    return a + b


@task(name="dead.gate", queue="gates")
def gate(value: Any, path: str) -> Any:
    """Fails until a file exists at ``path``."""
    runs.append(("gate", value))
    if not Path(path).exists():
        raise FileNotFoundError(f"gate closed: {path}")
    return value


@task(name="dead.boom")
def boom() -> None:
    raise ValueError("boom")


@pytest.fixture(autouse=True)
def _clear_runs() -> None:
    runs.clear()


def failed_chain(bridge: taskbridge.Bridge, door: Path) -> taskbridge.Result:
    """add(1, 2) → gate(door) → add(+4): FAILED at the gate (the door is not there yet)."""
    result = chain(add.using(bridge=bridge).s(1, 2), gate.s(str(door)), add.s(4)).enqueue()
    run_all(bridge)
    assert result.refresh().status is Status.FAILED
    return result


def step_of(bridge: taskbridge.Bridge, chain_result: taskbridge.Result) -> Record:
    envelope = chain_result.record.envelope
    assert envelope is not None
    return bridge.store.get(envelope.id)


def test_failed_chain_keeps_its_failing_step(bridge: taskbridge.Bridge, tmp_path: Path) -> None:
    """A chain that FAILED in a step keeps that step's envelope, which names the steps left."""
    result = failed_chain(bridge, tmp_path / "door")
    step = step_of(bridge, result)
    assert step.task_name == "dead.gate" and step.status is Status.FAILED
    assert step.envelope is not None and step.envelope.chain_id == result.id
    assert [s.task_name for s in step.envelope.chain] == ["dead.add"]


def test_retry_of_a_failed_chain_resumes_at_its_failing_step(
    bridge: taskbridge.Bridge, tmp_path: Path
) -> None:
    """retry(chain id) makes a new chain starting with the failing step: the first step does
    not run again, the new chain runs to SUCCEEDED, and the old records link to the new."""
    door = tmp_path / "door"
    result = failed_chain(bridge, door)
    step = step_of(bridge, result)
    door.touch()
    runs.clear()
    again = bridge.retry(result.id)
    assert again.task_name == CHAIN_TASK_NAME and again.status is Status.PENDING
    run_all(bridge)
    assert (again.refresh().status, again.value) == (Status.SUCCEEDED, 7)
    assert runs == [("gate", 3), ("add", 3)]
    assert result.refresh().retried_as == again.id and result.status is Status.FAILED
    new_step = bridge.get_result(bridge.store.get(step.id).retried_as or "")
    assert new_step.task_name == "dead.gate" and new_step.status is Status.SUCCEEDED
    assert again.record.first_step == new_step.id
    assert bridge.failed() == []


def test_the_resumed_chain_shows_running_then_its_outcome(
    bridge: taskbridge.Bridge, tmp_path: Path, recorder: Any
) -> None:
    """The resumed chain's record goes PENDING → RUNNING (its one attempt started when the
    step did) → FAILED when the step fails again, and can be retried once more."""
    result = failed_chain(bridge, tmp_path / "door")
    again = bridge.retry(result.id)
    run_all(bridge)
    assert recorder.of(again.id) == ["enqueued", "failed"]
    assert again.refresh().status is Status.FAILED
    [attempt] = again.attempt_history
    assert attempt.outcome == "FAILED" and attempt.started_at is not None
    assert again.error is not None and "gate closed" in again.error.message
    (tmp_path / "door").touch()
    third = bridge.retry(again.id)
    run_all(bridge)
    assert third.refresh().value == 7


def test_retry_of_the_failing_step_resumes_its_chain(
    bridge: taskbridge.Bridge, tmp_path: Path
) -> None:
    """retry(step id) resumes the chain as retry(chain id) does and returns the new step;
    the chain then completes and leaves the dead-letter list."""
    door = tmp_path / "door"
    result = failed_chain(bridge, door)
    step = step_of(bridge, result)
    door.touch()
    new_step = bridge.retry(step.id)
    assert new_step.task_name == "dead.gate"
    run_all(bridge)
    new_chain = bridge.get_result(result.refresh().retried_as or "")
    assert (new_chain.status, new_chain.value) == (Status.SUCCEEDED, 7)
    assert new_step.refresh().value == 3
    assert bridge.failed() == []


def test_retry_messages_say_what_is_wrong(bridge: taskbridge.Bridge) -> None:
    """Retrying a non-FAILED execution, or one already retried, says which it is."""
    done = add.using(bridge=bridge).enqueue(1)
    failed = boom.using(bridge=bridge).enqueue()
    run_all(bridge)
    with pytest.raises(InvalidTaskOptions, match=f"{done.id} is SUCCEEDED; only FAILED"):
        bridge.retry(done.id)
    again = bridge.retry(failed.id)
    with pytest.raises(InvalidTaskOptions, match=f"already retried as {again.id}"):
        bridge.retry(failed.id)


def test_a_chain_that_failed_between_steps_cannot_be_resumed(bridge: taskbridge.Bridge) -> None:
    """A chain whose next step could not be sent has no failing step: retry says so."""

    @task(name="dead.gone")
    def gone(value: int) -> int:
        return value

    result = chain(add.using(bridge=bridge).s(1), gone.s()).enqueue()
    _registry.unregister("dead.gone")  # the worker no longer knows the next step
    run_all(bridge)
    assert result.refresh().status is Status.FAILED
    assert result.record.envelope is None
    with pytest.raises(InvalidTaskOptions, match="no step to resume"):
        bridge.retry(result.id)


def test_failed_filters_by_task_and_queue(bridge: taskbridge.Bridge, tmp_path: Path) -> None:
    """failed(task=..., queue=...) narrows the dead-letter list."""
    failed_chain(bridge, tmp_path / "door")
    lone = boom.using(bridge=bridge).enqueue()
    run_all(bridge)
    assert {r.task_name for r in bridge.failed()} == {CHAIN_TASK_NAME, "dead.gate", "dead.boom"}
    assert [r.id for r in bridge.failed(task="dead.boom")] == [lone.id]
    assert [r.task_name for r in bridge.failed(queue="gates")] == ["dead.gate"]
    assert bridge.failed(task="dead.boom", queue="gates") == []


def test_discard_takes_an_execution_off_the_list_and_keeps_its_record(
    bridge: taskbridge.Bridge,
) -> None:
    """discard(id) removes a dead letter; the record stays readable (FAILED, discarded_at
    set, counted), discarding again is harmless, and it can still be retried."""
    failed = boom.using(bridge=bridge).enqueue()
    run_all(bridge)
    gone = bridge.discard(failed.id)
    assert gone.status is Status.FAILED and gone.discarded_at is not None
    assert bridge.failed() == []
    assert bridge.get_result(failed.id).discarded_at == gone.discarded_at
    assert bridge.count(status=Status.FAILED) == 1
    assert bridge.discard(failed.id).discarded_at == gone.discarded_at
    assert bridge.retry(failed.id).status is Status.PENDING


def test_discard_of_a_chain_takes_its_failing_step_too(
    bridge: taskbridge.Bridge, tmp_path: Path
) -> None:
    """A failed chain and its failing step leave the list together, from either id."""
    first = failed_chain(bridge, tmp_path / "one")
    second = failed_chain(bridge, tmp_path / "two")
    bridge.discard(first.id)
    bridge.discard(step_of(bridge, second).id)
    assert bridge.failed() == []


def test_discard_refuses_what_is_not_a_dead_letter(bridge: taskbridge.Bridge) -> None:
    """Discarding a SUCCEEDED or a retried execution says why it cannot."""
    done = add.using(bridge=bridge).enqueue(1)
    failed = boom.using(bridge=bridge).enqueue()
    run_all(bridge)
    with pytest.raises(InvalidTaskOptions, match="is SUCCEEDED"):
        bridge.discard(done.id)
    again = bridge.retry(failed.id)
    with pytest.raises(InvalidTaskOptions, match=f"was retried as {again.id}"):
        bridge.discard(failed.id)
