"""CONTRACT §9: lifecycle hooks — enqueued, started, succeeded, failed, retrying, canceled."""

from __future__ import annotations

from taskbridge import Status
from taskbridge.testing.conformance.harness import Harness
from taskbridge.testing.conformance.tasks import add, fail, flaky
from taskbridge.testing.recorder import HookRecorder


def _hooks(backend: Harness, recorder: HookRecorder, id: str, last: str) -> list[str]:
    """The hooks fired for ``id``, once the one expected last has fired."""
    def fired() -> list[str]:
        hooks = backend.hook_events(id, recorder.events)
        return hooks if hooks and hooks[-1] == last else []

    return backend.wait_for(fired, what=f"hook {last} for {id}")


def test_success_hooks(backend: Harness, hook_recorder: HookRecorder) -> None:
    """A successful task fires enqueued, started, succeeded, in that order."""
    result = backend.finish(add.enqueue(1, 1))
    assert result.status is Status.SUCCEEDED
    assert _hooks(backend, hook_recorder, result.id, "succeeded") == [
        "enqueued", "started", "succeeded"]


def test_retry_and_failure_hooks(backend: Harness, hook_recorder: HookRecorder) -> None:
    """A retried task fires retrying between its attempts; a failing one fires failed."""
    flaky_result = backend.finish(flaky.enqueue(2))
    assert _hooks(backend, hook_recorder, flaky_result.id, "succeeded") == [
        "enqueued", "started", "retrying", "started", "succeeded"]
    failing = backend.finish(fail.enqueue("hooked"))
    assert _hooks(backend, hook_recorder, failing.id, "failed") == [
        "enqueued", "started", "failed"]


def test_cancel_hook(backend: Harness, hook_recorder: HookRecorder) -> None:
    """Canceling a waiting task fires canceled."""
    result = backend.park(add).enqueue(1, 1)
    result.cancel()
    assert _hooks(backend, hook_recorder, result.id, "canceled") == ["enqueued", "canceled"]


def test_deduplicated_enqueue_fires_no_hook(backend: Harness, hook_recorder: HookRecorder) -> None:
    """An enqueue that matched a live idempotency key sent nothing, so fires nothing."""
    parked = backend.park(add).using(idempotency_key=f"conformance-hooks-{id(hook_recorder)}")
    first = parked.enqueue(1, 1)
    second = parked.enqueue(1, 1)
    try:
        assert second.deduplicated
        assert backend.hook_events(first.id, hook_recorder.events) == ["enqueued"]
    finally:
        first.cancel()
