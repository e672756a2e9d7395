"""The envelope's wire form: round trips, and refusal of malformed data."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskbridge import Envelope
from taskbridge._envelope import ENVELOPE_VERSION, Step

from .test_json import json_values

text = st.text(max_size=20)
json_args = st.lists(json_values, max_size=3)
json_kwargs = st.dictionaries(st.text(max_size=8), json_values, max_size=3)
finite = st.floats(allow_nan=False, allow_infinity=False)

steps = st.builds(Step, task_name=text, args=json_args, kwargs=json_kwargs)
envelopes = st.builds(
    Envelope,
    id=text,
    task_name=text,
    args=json_args,
    kwargs=json_kwargs,
    queue=text,
    priority=st.integers(-100, 100),
    attempt=st.integers(1, 1000),
    max_attempts=st.integers(1, 1000),
    enqueued_at=finite,
    run_at=st.none() | finite,
    timeout=st.none() | st.floats(min_value=0.001, max_value=1e6),
    idempotency_key=st.none() | text,
    chain=st.lists(steps, max_size=3),
    chain_id=st.none() | text,
)


def valid_wire() -> dict[str, Any]:
    return Envelope("id1", "mod.task", args=[1], kwargs={"a": "b"}).to_dict()


@settings(deadline=None)
@given(envelopes)
def test_envelopes_round_trip_through_the_wire_form(envelope: Envelope) -> None:
    """Any envelope of JSON values comes back equal from dumps/loads and to_dict/from_dict."""
    assert Envelope.loads(envelope.dumps()) == envelope
    assert Envelope.from_dict(envelope.to_dict()) == envelope
    json.dumps(envelope.to_dict(), allow_nan=False)  # the wire form is plain JSON


def test_wire_form_carries_its_version() -> None:
    """Every serialised envelope says which wire version it is."""
    assert valid_wire()["v"] == ENVELOPE_VERSION


@pytest.mark.parametrize("version", [None, 0, ENVELOPE_VERSION + 1, "1"])
def test_other_versions_are_refused(version: object) -> None:
    """A worker refuses an envelope of another wire version, saying what to do."""
    data = valid_wire()
    data["v"] = version
    with pytest.raises(ValueError, match=r"version .* upgrade the worker or the producer"):
        Envelope.from_dict(data)


@pytest.mark.parametrize("field", sorted(set(valid_wire()) - {"v"}))
def test_missing_fields_are_refused_naming_the_field(field: str) -> None:
    """An envelope missing a field is a ValueError that names the field."""
    data = valid_wire()
    del data[field]
    with pytest.raises(ValueError, match=f"malformed envelope: missing field {field!r}"):
        Envelope.from_dict(data)


WRONG_TYPES = [
    ("id", 5),
    ("task", None),
    ("args", {"a": 1}),
    ("args", "abc"),
    ("kwargs", [1]),
    ("queue", 3),
    ("priority", "high"),
    ("priority", 1.5),
    ("priority", True),
    ("attempt", False),
    ("max_attempts", "3"),
    ("enqueued_at", "now"),
    ("enqueued_at", True),
    ("run_at", "soon"),
    ("timeout", [1]),
    ("idempotency_key", 7),
    ("chain", {"task": "x"}),
    ("chain", [1]),
    ("chain", [{"args": []}]),
    ("chain", [{"task": 5, "args": [], "kwargs": {}}]),
    ("chain", [{"task": "x", "args": "abc", "kwargs": {}}]),
    ("chain", [{"task": "x", "args": [], "kwargs": [1]}]),
    ("chain_id", 1),
]


@pytest.mark.parametrize(("field", "value"), WRONG_TYPES)
def test_fields_of_the_wrong_type_are_refused(field: str, value: object) -> None:
    """A field of the wrong JSON type is a ValueError naming the field."""
    data = valid_wire()
    data[field] = value
    with pytest.raises(ValueError, match="malformed envelope") as caught:
        Envelope.from_dict(data)
    assert field in str(caught.value) or field == "chain"


@pytest.mark.parametrize("data", [[], "envelope", 5, None])
def test_non_objects_are_refused(data: object) -> None:
    """Only a JSON object can be an envelope."""
    with pytest.raises(ValueError, match="an envelope is a JSON object"):
        Envelope.from_dict(data)


@pytest.mark.parametrize(
    "text",
    [b"\xff\xfe", "not json", '{"v": 1', '{"v": NaN}', "", json.dumps(valid_wire())[:-1]],
)
def test_non_json_text_is_refused(text: str | bytes) -> None:
    """Text that is not strict JSON is a ValueError, never something else."""
    with pytest.raises(ValueError):
        Envelope.loads(text)


@given(st.binary(max_size=64) | st.text(max_size=64))
def test_garbage_is_only_ever_a_value_error(blob: str | bytes) -> None:
    """Arbitrary bytes or text either parse into an envelope or raise ValueError."""
    with contextlib.suppress(ValueError):
        Envelope.loads(blob)
