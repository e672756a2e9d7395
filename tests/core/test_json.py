"""Strict JSON checking of arguments and results (``taskbridge._json``)."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import math
import re
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskbridge import ArgumentsNotSerializable, Envelope, TaskBridgeError
from taskbridge._json import check_arguments, check_json, dumps, loads

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)


class Colour(enum.IntEnum):
    RED = 1


#: Values that are not JSON, with the type name the error must give.
bad_leaves = st.sampled_from(
    [
        (dt.datetime(2024, 1, 2, tzinfo=dt.UTC), "datetime"),
        (dt.date(2024, 1, 2), "date"),
        (decimal.Decimal("1.10"), "Decimal"),
        ({1, 2}, "set"),
        (frozenset({"a"}), "frozenset"),
        (b"raw", "bytes"),
        (bytearray(b"raw"), "bytearray"),
        (uuid.UUID(int=7), "UUID"),
        (object(), "object"),
        (Colour.RED, "Colour"),
        (1 + 2j, "complex"),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
        ({1: "int key"}, "int"),
        ({("a",): "tuple key"}, "tuple"),
        ({None: "None key"}, "NoneType"),
    ]
)


@st.composite
def values_with_bad_leaf(draw: st.DrawFn) -> tuple[Any, str, str]:
    """A JSON value with one bad leaf at a random depth; returns (value, path suffix, type)."""
    leaf, type_name = draw(bad_leaves)
    steps = draw(st.lists(st.sampled_from(["list", "dict"]), max_size=4))
    value, segments = leaf, []
    for step in reversed(steps):  # wrap from the innermost container outwards
        if step == "list":
            siblings = draw(st.lists(json_values, max_size=3))
            index = draw(st.integers(0, len(siblings)))
            siblings.insert(index, value)
            value, segment = siblings, f"[{index}]"
        else:
            siblings_dict = draw(st.dictionaries(st.text(max_size=5), json_values, max_size=3))
            key = draw(st.text(max_size=5))
            siblings_dict[key] = value
            value, segment = siblings_dict, f"[{key!r}]"
        segments.insert(0, segment)
    return value, "".join(segments), type_name


@given(json_values)
def test_every_json_value_is_accepted_and_round_trips(value: Any) -> None:
    """Anything json.loads can produce passes the check and survives dumps/loads unchanged."""
    check_json(value)
    assert loads(dumps(value)) == value


@settings(deadline=None)
@given(st.lists(json_values, max_size=4), st.dictionaries(st.text(), json_values, max_size=4))
def test_json_arguments_round_trip_through_an_envelope(
    args: list[Any], kwargs: dict[str, Any]
) -> None:
    """JSON arguments survive Envelope.to_dict/dumps/loads exactly."""
    check_arguments(args, kwargs)
    envelope = Envelope(id="e1", task_name="t", args=args, kwargs=kwargs)
    back = Envelope.loads(envelope.dumps())
    assert back == envelope
    assert list(back.args) == args
    assert back.kwargs == kwargs
    assert Envelope.from_dict(json.loads(json.dumps(envelope.to_dict()))) == envelope


@settings(deadline=None)
@given(values_with_bad_leaf(), st.data())
def test_a_bad_leaf_anywhere_is_rejected_with_its_exact_path(
    case: tuple[Any, str, str], data: st.DataObject
) -> None:
    """A non-JSON leaf at any depth, in args or kwargs, is named by its path, type and a hint."""
    value, suffix, type_name = case
    if data.draw(st.booleans(), label="in args"):
        before = data.draw(st.lists(json_values, max_size=2), label="args before")
        args, kwargs = [*before, value], {}
        path = f"args[{len(before)}]{suffix}"
    else:
        name = data.draw(st.text(max_size=6), label="kwarg name")
        args, kwargs = [], {name: value}
        path = f"kwargs[{name!r}]{suffix}"
    with pytest.raises(ArgumentsNotSerializable) as caught:
        check_arguments(args, kwargs)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    assert type_name in message
    assert "; pass " in message  # every message ends with what to do instead


def test_argument_errors_are_type_errors_and_taskbridge_errors() -> None:
    """ArgumentsNotSerializable can be caught as TypeError or as TaskBridgeError."""
    with pytest.raises(TypeError):
        check_arguments([], {"when": dt.datetime.now(dt.UTC)})
    with pytest.raises(TaskBridgeError):
        check_arguments([{1, 2}], {})


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ([], {"user": {"created_at": dt.datetime(2024, 1, 1)}},
         "kwargs['user']['created_at']: datetime is not a JSON value; pass value.isoformat()"),
        ([[0, 1, {3}]], {}, "args[0][2]: set is not a JSON value; pass a sorted list"),
        ([decimal.Decimal("2.5")], {}, "args[0]: Decimal is not a JSON value; pass str(value)"),
        ([{"k": float("nan")}], {}, "args[0]['k']: nan is not a finite number"),
        ([], {"m": {2: "x"}}, "kwargs['m']: key 2 is a int"),
    ],
)
def test_messages_read_as_documented(
    args: list[Any], kwargs: dict[str, Any], expected: str
) -> None:
    """Error messages start with the documented path and explanation."""
    with pytest.raises(ArgumentsNotSerializable, match="^" + re.escape(expected)):
        check_arguments(args, kwargs)


def test_tuples_are_accepted_and_arrive_as_lists() -> None:
    """A tuple is a JSON array: accepted, and read back as a list."""
    check_json((1, (2, "x")))
    assert loads(dumps((1, (2, "x")))) == [1, [2, "x"]]


@pytest.mark.parametrize("build", ["list", "dict", "deep"])
def test_cycles_are_rejected_not_recursed_forever(build: str) -> None:
    """A value that contains itself is rejected with a message about the cycle."""
    value: Any
    if build == "list":
        value = [1]
        value.append(value)
    elif build == "dict":
        value = {}
        value["self"] = value
    else:
        value = [{"x": []}]
        value[0]["x"].append(value)
    with pytest.raises(ArgumentsNotSerializable, match="cycle"):
        check_json(value)


def test_shared_but_acyclic_values_are_accepted() -> None:
    """The same list used twice is not a cycle."""
    shared = [1, 2]
    check_json({"a": shared, "b": [shared, shared]})


def test_dumps_and_loads_refuse_non_finite_numbers() -> None:
    """dumps refuses NaN even unchecked, and loads refuses NaN/Infinity in text."""
    with pytest.raises(ValueError):
        dumps([math.nan])
    for text in ("NaN", "[Infinity]", '{"a": -Infinity}'):
        with pytest.raises(ValueError, match="not valid strict JSON"):
            loads(text)
