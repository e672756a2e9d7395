"""What every engine can carry: a nesting limit, ints JSON decoders accept, text UTF-8 encodes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskbridge import ArgumentsNotSerializable, Bridge, Envelope, Status, task
from taskbridge._envelope import ENVELOPE_DEPTH
from taskbridge._json import (
    MAX_DEPTH,
    MAX_INT_DIGITS,
    check_arguments,
    check_json,
    deeper_than,
    dumps,
    loads,
    loads_outline,
)
from taskbridge.testing.redis_server import test_redis_url, unique_prefix

scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=3)


@st.composite
def nested(draw: st.DrawFn, depth: int) -> tuple[Any, list[str]]:
    """A value exactly ``depth`` containers deep, and the steps of the path to its deepest
    container."""
    value: Any = draw(scalars)
    path: list[str] = []
    for _ in range(depth):
        siblings = draw(st.lists(scalars, max_size=2))
        if draw(st.booleans()):
            index = draw(st.integers(0, len(siblings)))
            value, step = [*siblings[:index], value, *siblings[index:]], f"[{index}]"
        else:
            key = draw(st.text(max_size=4))
            value = {**{f"_{i}": s for i, s in enumerate(siblings)}, key: value}
            step = f"[{key!r}]"
        path.insert(0, step)
    return value, path


@settings(deadline=None, max_examples=60)
@given(st.integers(MAX_DEPTH - 3, MAX_DEPTH + 3).flatmap(
    lambda depth: st.tuples(st.just(depth), nested(depth))))
def test_nesting_is_accepted_up_to_the_limit_and_refused_past_it(
    case: tuple[int, tuple[Any, list[str]]]
) -> None:
    """A value MAX_DEPTH containers deep passes and round-trips through an envelope; one level
    more is refused, naming the path of the container past the limit."""
    depth, (value, path) = case
    assert deeper_than(value, MAX_DEPTH) == (depth > MAX_DEPTH)
    if depth <= MAX_DEPTH:
        check_arguments([value], {})
        envelope = Envelope(id="e", task_name="t", args=[value], chain=())
        assert Envelope.loads(envelope.dumps()) == envelope
        return
    # The container sitting at depth MAX_DEPTH is the first one past the limit.
    too_deep = "args[0]" + "".join(path[:MAX_DEPTH])
    with pytest.raises(ArgumentsNotSerializable) as caught:
        check_arguments([value], {})
    assert str(caught.value).startswith(f"{too_deep}: ")
    assert f"nested deeper than {MAX_DEPTH} levels" in str(caught.value)


def test_the_limit_counts_containers_not_scalars() -> None:
    """64 nested lists holding a number pass; 65 do not; the scalar itself adds no level."""
    value: Any = 0
    for _ in range(MAX_DEPTH):
        value = [value]
    check_json(value)
    with pytest.raises(ArgumentsNotSerializable, match=r"^result\[0\]"):
        check_json([value], "result")


@given(st.integers(0, 2 * ENVELOPE_DEPTH))
def test_loads_refuses_text_nested_past_max_depth(depth: int) -> None:
    """loads(max_depth=N) parses what nests N deep and refuses deeper text with ValueError."""
    text = "[" * depth + '"]["' + "]" * depth
    if depth <= ENVELOPE_DEPTH:
        assert loads(text, max_depth=ENVELOPE_DEPTH) == json.loads(text)
    else:
        with pytest.raises(ValueError, match=f"nested deeper than {ENVELOPE_DEPTH} levels"):
            loads(text, max_depth=ENVELOPE_DEPTH)


def test_outline_reads_top_fields_of_text_too_deep_to_parse() -> None:
    """The top fields of a document 100,000 levels deep are read without parsing its depths."""
    deep = "[" * 100_000 + "]" * 100_000
    text = '{"id": "abc", "note": "a [ b \\" {", "envelope": ' + deep + "}"
    with pytest.raises(RecursionError):
        json.loads(text)
    assert loads_outline(text, 1) == {"id": "abc", "note": 'a [ b " {', "envelope": None}
    for broken in ('{"id": "abc", "x": [}', '{"id": "a', '{"id": "abc"]'):
        with pytest.raises(ValueError):
            loads_outline(broken, 1)


@pytest.mark.parametrize("digits", [MAX_INT_DIGITS, MAX_INT_DIGITS + 1])
def test_ints_longer_than_json_decoders_accept_are_refused(digits: int) -> None:
    """An int of 4,300 digits round-trips; one of 4,301 (either sign) is refused up front."""
    for value in (10 ** (digits - 1), -(10 ** (digits - 1))):
        if digits <= MAX_INT_DIGITS:
            check_json(value)
            assert loads(dumps(value)) == value
        else:
            with pytest.raises(ArgumentsNotSerializable, match=r"^kwargs\['n'\]: int has more "
                               f"than {MAX_INT_DIGITS} digits"):
                check_arguments([], {"n": [1, value][1]})


@given(st.text())
def test_text_utf8_can_encode_is_accepted(text: str) -> None:
    """Any text without lone surrogates is accepted, as a value and as a key."""
    check_json({text: [text]})


@pytest.mark.parametrize("surrogate", ["\ud800", "\udfff", "ok \udc80 then"])
def test_lone_surrogates_are_refused_in_values_and_keys(surrogate: str) -> None:
    """A lone surrogate (what decoding bytes with surrogateescape leaves) is refused by path."""
    with pytest.raises(ArgumentsNotSerializable, match=r"^args\[1\]\['k'\]\[0\]: str holds"):
        check_arguments([1, {"k": [surrogate]}], {})
    with pytest.raises(ArgumentsNotSerializable, match=r"^args\[0\] key .*lone surrogate"):
        check_arguments([{surrogate: 1}], {})
    with pytest.raises(ArgumentsNotSerializable, match=r"^kwargs key .*lone surrogate"):
        check_arguments([], {surrogate: 1})


def test_keyword_names_that_are_not_text_are_refused() -> None:
    """A kwargs mapping with a non-str key (a schedule's kwargs, say) is refused by name."""
    with pytest.raises(ArgumentsNotSerializable, match=r"^kwargs: key 1 is a int"):
        check_arguments([], {1: "x"})  # type: ignore[dict-item]


@task(name="limits.echo")
def echo(value: Any = None) -> Any:
    return value


@task(name="limits.wrap")
def wrap(value: Any) -> Any:
    return {"wrap": value}


@pytest.fixture(params=["memory", "sqlite", "redis"])
def bridge(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """Bridges whose stores encode records as UTF-8 text (SQLite, Redis) or parse them back."""
    stores = {"memory": "", "sqlite": f"?store=sqlite:///{tmp_path / 'store.db'}",
              "redis": f"?store={test_redis_url()}&namespace={unique_prefix('limits')}"}
    made = Bridge("memory://" + stores[request.param])
    yield made
    if request.param == "redis":
        client = made.store.client  # type: ignore[attr-defined]
        for key in client.scan_iter(match=f"{made.url.namespace}:*"):
            client.delete(key)
    made.close()


@pytest.mark.parametrize("bad", ["\ud800", 10**MAX_INT_DIGITS, "deep"],
                         ids=["lone-surrogate", "long-int", "too-deep"])
def test_unencodable_arguments_are_not_serializable_not_enqueue_errors(
    bridge: Bridge, bad: Any
) -> None:
    """Values every store would fail to encode are ArgumentsNotSerializable naming the call and
    the argument, before anything is stored; an enqueue_many error says which call."""
    if bad == "deep":
        bad = []
        for _ in range(MAX_DEPTH + 1):
            bad = [bad]
    using = echo.using(bridge=bridge)
    with pytest.raises(ArgumentsNotSerializable, match=r"^args\[0\]"):
        using.enqueue(bad)
    with pytest.raises(ArgumentsNotSerializable, match=r"^call 2 of 3: args\[0\]"):
        using.enqueue_many([(1,), (2,), (bad,)])
    assert bridge.count() == 0


def test_a_result_nested_past_the_limit_fails_the_task() -> None:
    """A task returning a value deeper than the limit ends FAILED, not retried."""
    bridge = Bridge("memory://")
    deep: Any = 0
    for _ in range(MAX_DEPTH + 1):
        deep = [deep]
    result = echo.using(bridge=bridge).enqueue(deep[0])
    deeper = wrap.using(bridge=bridge).enqueue(deep[0])
    bridge.drive()
    assert result.refresh().status is Status.SUCCEEDED
    assert deeper.refresh().status is Status.FAILED
    assert deeper.error is not None and deeper.error.type == "taskbridge.ArgumentsNotSerializable"
    assert deeper.error.message.startswith("result['wrap']")
    bridge.close()
