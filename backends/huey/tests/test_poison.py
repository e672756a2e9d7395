"""Messages that are not taskbridge JSON never run, never stop the consumer, and are reported."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import hueytasks
import pytest
from huey.registry import Message
from hypothesis import given
from hypothesis import strategies as st
from taskbridge_huey._poison import POISON_ERROR, candidate_ids
from taskbridge_huey._serializer import JSONSerializer, MalformedMessage, message_for

from taskbridge import Bridge, Envelope, Status
from taskbridge.testing.polling import wait_for
from taskbridge.testing.workers import Workers


class _Exploit:
    """Unpickling this creates a file: proof that a pickle was (or was not) loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


@pytest.mark.slow
def test_pickled_message_is_refused_and_reported(
    bridge: Bridge, workers: Workers, tmp_path: Path
) -> None:
    """A pickled Huey message pushed by hand is never unpickled or run, the consumer keeps
    running later tasks, and the record it names ends FAILED with a clear error."""
    marker = tmp_path / "unpickled"
    victim = hueytasks.add.using(bridge=bridge, delay=3600).enqueue(1, 1)
    huey = bridge.backend.huey("default")  # type: ignore[attr-defined]
    message = Message(victim.id, "hueytasks.add", None, 0, 0, 0, (_Exploit(marker),), {})
    huey.storage.enqueue(pickle.dumps(message), 0)
    worker = workers.start(bridge.url.raw)
    failed = wait_for(lambda: victim.refresh().status is Status.FAILED, what="victim FAILED")
    assert failed
    assert victim.error is not None and victim.error.type == POISON_ERROR
    assert "not a taskbridge JSON message" in victim.error.message
    assert hueytasks.add.using(bridge=bridge).enqueue(2, 2).wait(timeout=20) == 4
    assert not marker.exists()
    assert f"marked FAILED: {victim.id}" in worker.output()


@pytest.mark.slow
def test_malformed_json_without_an_id_is_logged(bridge: Bridge, workers: Workers) -> None:
    """JSON that is not a taskbridge message is logged with what was found, and skipped."""
    huey = bridge.backend.huey("default")  # type: ignore[attr-defined]
    huey.storage.enqueue(b'{"taskbridge": 1, "id": "x", "envelope": {"v": 99}}', 0)
    worker = workers.start(bridge.url.raw)
    assert hueytasks.add.using(bridge=bridge).enqueue(3, 4).wait(timeout=20) == 7
    wait_for(lambda: "refused a message on Huey queue" in worker.output(), what="the report")


def test_json_roundtrip_of_an_envelope() -> None:
    """A taskbridge message survives the serializer unchanged, as JSON text."""
    envelope = Envelope(id="a" * 32, task_name="m.f", args=(1, "x"), kwargs={"k": [1.5]},
                        priority=-7, run_at=1_700_000_000.25)
    data = JSONSerializer().serialize(message_for(envelope))
    assert data.startswith(b"{")
    message = JSONSerializer().deserialize(data)
    assert message.args == (envelope,) and message.priority == -7
    assert message.eta is not None and message.name == "m.f"


@given(st.binary(max_size=200))
def test_arbitrary_bytes_are_refused(data: bytes) -> None:
    """Bytes that are not a taskbridge message raise MalformedMessage, and nothing else."""
    with pytest.raises(MalformedMessage):
        JSONSerializer().deserialize(pickle.dumps(data) if data[:1] != b"{" else data)


@given(st.lists(st.uuids().map(lambda u: u.hex), max_size=5), st.binary(max_size=50))
def test_ids_are_found_in_raw_bytes(ids: list[str], noise: bytes) -> None:
    """Every taskbridge-shaped id inside a message is found without decoding it."""
    raw = pickle.dumps((ids, noise))
    assert set(ids) <= set(candidate_ids(raw))


def test_huey_api_payloads_are_refused() -> None:
    """Anything that is not a taskbridge message (e.g. a stock Huey call) is not serialized."""
    with pytest.raises(MalformedMessage):
        JSONSerializer().serialize(Message("i", "n", None, 0, 0, 0, (1, 2), {}))
    with pytest.raises(MalformedMessage):
        JSONSerializer().serialize({"some": "result"})
