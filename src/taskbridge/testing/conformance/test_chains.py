"""CONTRACT §7: chains — each step gets the previous value; one Result for the whole chain."""

from __future__ import annotations

from taskbridge import Status, chain
from taskbridge.testing.conformance.harness import Harness
from taskbridge.testing.conformance.tasks import add, chain_tail, fail


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
