"""CONTRACT §7: chains — each step gets the previous value; one Result for the whole chain."""

from __future__ import annotations

from taskbridge import Status, chain
from taskbridge.testing.conformance.harness import Harness
from taskbridge.testing.conformance.tasks import add, chain_tail, fail, gate
from taskbridge.testing.redis_server import unique_prefix


def test_chain_passes_values_along(backend: Harness) -> None:
    """Each step runs after the previous one succeeds, receiving its value first; the chain
    SUCCEEDS with the last value."""
    result = chain(add.s(1, 2), add.s(3), add.s(b=4)).enqueue()
    backend.finish(result)
    assert (result.status, result.value) == (Status.SUCCEEDED, 10)


def test_failed_step_fails_the_chain(backend: Harness) -> None:
    """A failing step ends the chain FAILED with that step's error; later steps never run."""
    before = backend.bridge.count(task_name=chain_tail.name)
    result = chain(add.s(1, 1), fail.s(), chain_tail.s()).enqueue()
    backend.finish(result)
    assert result.status is Status.FAILED
    assert result.error is not None and result.error.type == "ValueError"
    assert "conformance failure: 2" in result.error.message
    assert backend.bridge.count(task_name=chain_tail.name) == before


def test_chain_result_is_visible_elsewhere(backend: Harness) -> None:
    """The chain's Result can be looked up by id like any other."""
    result = chain(add.s(5, 5), chain_tail.s()).enqueue()
    backend.finish(result)
    again = backend.other_bridge().get_result(result.id)
    assert (again.status, again.value) == (Status.SUCCEEDED, 10)


def test_retry_resumes_a_failed_chain_at_its_failing_step(backend: Harness) -> None:
    """bridge.retry on a FAILED chain runs a new chain from the failing step on (earlier steps
    do not run again) to SUCCEEDED; the old chain and step link to the new ones."""
    door = backend.workdir / unique_prefix("gate")
    result = chain(add.s(20, 1), gate.s(str(door)), add.s(21)).enqueue()
    backend.finish(result)
    assert result.status is Status.FAILED
    assert result.error is not None and "gate closed" in result.error.message
    failed_step = result.record.envelope
    assert failed_step is not None and failed_step.task_name == gate.name
    firsts = backend.bridge.count(task_name=add.name)
    door.touch()
    again = backend.bridge.retry(result.id)
    assert again.id != result.id
    backend.finish(again)
    assert (again.status, again.value) == (Status.SUCCEEDED, 42)
    assert backend.bridge.count(task_name=add.name) == firsts + 1  # only the last step ran
    assert result.refresh().retried_as == again.id
    assert backend.bridge.get_result(failed_step.id).retried_as is not None
    assert result.id not in {r.id for r in backend.bridge.failed(limit=1000)}
