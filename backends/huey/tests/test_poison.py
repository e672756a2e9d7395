"""Messages that are not taskbridge JSON never run, never stop the consumer, and are reported."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import hueytasks
import pytest
from huey.registry import Message
from hypothesis import given
from hypothesis import strategies as st
from taskbridge_huey._poison import POISON_ERROR, message_id
from taskbridge_huey._serializer import JSONSerializer, MalformedMessage, message_for

from taskbridge import Bridge, Envelope, Status
from taskbridge.testing.polling import wait_for
from taskbridge.testing.workers import Workers

ids = st.uuids().map(lambda u: u.hex)


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
    running later tasks, and the refusal is logged. The record whose id appears only inside the
    pickle is left alone: no well-formed id field names it (issue 9, item 8)."""
    marker = tmp_path / "unpickled"
    victim = hueytasks.add.using(bridge=bridge, delay=3600).enqueue(1, 1)
    huey = bridge.backend.huey("default")  # type: ignore[attr-defined]
    message = Message(victim.id, "hueytasks.add", None, 0, 0, 0, (_Exploit(marker),), {})
    huey.storage.enqueue(pickle.dumps(message), 0)
    worker = workers.start(bridge.url.raw)
    wait_for(lambda: "its id field: none; marked FAILED: none" in worker.output(),
             what="the refusal logged")
    assert hueytasks.add.using(bridge=bridge).enqueue(2, 2).wait(timeout=20) == 4
    assert not marker.exists()
    assert victim.refresh().status is Status.PENDING


def _envelope(id: str, args: list[Any]) -> dict[str, Any]:
    return Envelope(id=id, task_name="hueytasks.add", args=[1, 1]).to_dict() | {"args": args}


@pytest.mark.slow
def test_poison_fails_only_the_execution_its_own_id_field_names(
    bridge: Bridge, workers: Workers
) -> None:
    """Unreadable messages full of other waiting tasks' ids fail only the execution their own
    top-level id names, however deep they nest; the bystanders wait on, the consumer goes on."""
    using = hueytasks.add.using(bridge=bridge, delay=3600)
    bystanders = [using.enqueue(i, i) for i in range(3)]
    named = [b.id for b in bystanders]
    victims = {kind: using.enqueue(0, 0) for kind in ("malformed", "too-deep", "unparsable")}
    too_deep: Any = named
    for _ in range(64):  # one level past the limit: the envelope check refuses it
        too_deep = [too_deep]
    poison = {
        # The id field names the victim; bystanders' ids sit in every other field.
        "malformed": {"taskbridge": 1, "id": victims["malformed"].id, "name": named[0],
                      "priority": 0, "envelope": {"v": 99, "id": named[1], "args": named}},
        "too-deep": {"taskbridge": 1, "id": victims["too-deep"].id, "name": "hueytasks.add",
                     "priority": 0, "envelope": _envelope(victims["too-deep"].id, [too_deep])},
    }
    huey = bridge.backend.huey("default")  # type: ignore[attr-defined]
    for document in poison.values():
        huey.storage.enqueue(json.dumps(document).encode(), 0)
    # So deep no JSON decoder parses it: the id is read from its top level alone.
    deep = "[" * 100_000 + json.dumps(named) + "]" * 100_000
    huey.storage.enqueue(f'{{"taskbridge": 1, "id": "{victims["unparsable"].id}", '
                         f'"envelope": {deep}}}'.encode(), 0)
    huey.storage.enqueue(pickle.dumps(("poison", named)), 0)
    huey.storage.enqueue(json.dumps(named).encode(), 0)
    worker = workers.start(bridge.url.raw)
    assert hueytasks.add.using(bridge=bridge).enqueue(2, 3).wait(timeout=20) == 5
    for victim in victims.values():
        wait_for(lambda v=victim: v.refresh().status is Status.FAILED, what=f"{victim.id} FAILED")
        assert victim.error is not None and victim.error.type == POISON_ERROR
    assert "nested deeper than 64 levels" in victims["too-deep"].refresh().error.message
    assert [b.refresh().status for b in bystanders] == [Status.PENDING] * 3
    assert worker.output().count("refused a message on Huey queue") == 5


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


@given(ids, st.lists(ids, max_size=5), st.binary(max_size=50))
def test_only_a_top_level_id_field_names_an_execution(
    own: str, others: list[str], noise: bytes
) -> None:
    """A message's id comes from its own top-level id field, never from ids found elsewhere in
    it; pickles, bare bytes and JSON without that field name nothing."""
    assert message_id(pickle.dumps(({"id": own}, others, noise))) is None
    assert message_id(noise + own.encode()) is None
    assert message_id(json.dumps({"envelope": {"id": own}, "ids": others}).encode()) is None
    assert message_id(json.dumps([{"id": own}]).encode()) is None
    assert message_id(json.dumps({"args": others, "id": own}).encode()) == own
    assert message_id(json.dumps({"id": own, "args": [[[others]]]}).encode()) == own


def test_huey_api_payloads_are_refused() -> None:
    """Anything that is not a taskbridge message (e.g. a stock Huey call) is not serialized."""
    with pytest.raises(MalformedMessage):
        JSONSerializer().serialize(Message("i", "n", None, 0, 0, 0, (1, 2), {}))
    with pytest.raises(MalformedMessage):
        JSONSerializer().serialize({"some": "result"})
