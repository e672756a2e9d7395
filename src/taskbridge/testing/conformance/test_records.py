"""CONTRACT §13: records live as long as they should — workers purge in the background."""

from __future__ import annotations

import pytest

from taskbridge import Status
from taskbridge.testing.conformance.harness import SOLO, Harness
from taskbridge.testing.conformance.tasks import add


def test_workers_purge_finished_records_past_result_ttl(
    backend: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker deletes finished records once result_ttl has passed, with nobody calling
    purge; records still waiting stay."""
    if backend.in_process:
        pytest.skip(f"{backend.engine} has no worker processes to purge in the background")
    monkeypatch.setenv("TASKBRIDGE_RESULT_TTL", "1")  # read by the worker started below
    waiting = backend.park(add).enqueue(1, 1)
    try:
        with backend.serving([SOLO]):
            done = add.using(queue=SOLO).enqueue(2, 2)
            backend.wait_status(done, Status.SUCCEEDED)
            backend.wait_for(
                lambda: backend.bridge.store.get_many([done.id]) == [None], timeout=30,
                what="the worker to purge the finished record a second after it finished",
            )
        assert waiting.refresh().status is Status.PENDING
    finally:
        waiting.cancel()
