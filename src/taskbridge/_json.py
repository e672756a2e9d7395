"""Strict JSON: the one check every argument and result goes through before it is sent or stored."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import uuid
from collections.abc import Mapping
from typing import Any, cast

from taskbridge._errors import ArgumentsNotSerializable

JSONValue = Any  # None | bool | int | float | str | list[JSONValue] | dict[str, JSONValue]

_SCALARS = (str, bool, int, type(None))


def _hint(value: object) -> str:
    """Say what to pass instead of ``value``."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return "pass value.isoformat() and parse it in the task"
    if isinstance(value, decimal.Decimal):
        return "pass str(value) to keep its precision"
    if isinstance(value, set | frozenset):
        return "pass a sorted list"
    if isinstance(value, bytes | bytearray | memoryview):
        return "pass text, e.g. base64.b64encode(value).decode()"
    if isinstance(value, uuid.UUID):
        return "pass str(value)"
    if isinstance(value, float):
        return "pass None or a string such as 'nan'"
    return "pass its id or a dict of plain values, and load the object inside the task"


def _fail(path: str, value: object, problem: str | None = None) -> ArgumentsNotSerializable:
    kind = type(value).__qualname__
    what = problem or f"{kind} is not a JSON value"
    return ArgumentsNotSerializable(f"{path}: {what}; {_hint(value)}")


def check_json(value: object, path: str = "value") -> None:
    """Raise :class:`ArgumentsNotSerializable` unless ``value`` is a strict JSON value.

    The message names the path of the first offending value (``kwargs['user']['created_at']``)
    and its type. Tuples are accepted and arrive as lists.
    """
    _check(value, path, set())


def _check(value: object, path: str, active: set[int]) -> None:
    # Exact type checks: a bool subclass or an IntEnum would serialise differently
    # from how it reads back, so only the built-in types themselves are JSON.
    kind = type(value)
    if kind in _SCALARS:
        return
    if kind is float:
        if not math.isfinite(value):  # type: ignore[arg-type]
            raise _fail(path, value, f"{value!r} is not a finite number")
        return
    if kind is list or kind is tuple:
        if id(value) in active:
            raise _fail(path, value, "the value contains itself (a cycle)")
        active.add(id(value))
        for index, item in enumerate(cast("list[Any]", value)):
            _check(item, f"{path}[{index}]", active)
        active.discard(id(value))
        return
    if kind is dict:
        if id(value) in active:
            raise _fail(path, value, "the value contains itself (a cycle)")
        active.add(id(value))
        for key, item in cast("dict[Any, Any]", value).items():
            if type(key) is not str:
                raise ArgumentsNotSerializable(
                    f"{path}: key {key!r} is a {type(key).__qualname__}, JSON object keys must "
                    f"be str; pass str({key!r}) as the key"
                )
            _check(item, f"{path}[{key!r}]", active)
        active.discard(id(value))
        return
    raise _fail(path, value)


def check_arguments(args: tuple[Any, ...] | list[Any], kwargs: Mapping[str, Any]) -> None:
    """Check a call's positional and keyword arguments, naming ``args[i]`` / ``kwargs['k']``."""
    for index, item in enumerate(args):
        _check(item, f"args[{index}]", set())
    for key, item in kwargs.items():
        _check(item, f"kwargs[{key!r}]", set())


#: Where the payload limit is set, for the messages that refuse a payload over it.
PAYLOAD_SETTING = "setting max_payload, environment variable TASKBRIDGE_MAX_PAYLOAD"


def _over(value: JSONValue, limit: int) -> int | None:
    """The size of ``value`` as JSON text (UTF-8) when it is over ``limit`` bytes, else None."""
    text = dumps(value)
    if len(text) * 4 <= limit:  # UTF-8 takes at most 4 bytes a character
        return None
    size = len(text.encode("utf-8", "surrogatepass"))
    return size if size > limit else None


def check_size(value: JSONValue, limit: int, where: str, advice: str) -> None:
    """Raise :class:`ArgumentsNotSerializable` when ``value``, a checked JSON value, takes
    more than ``limit`` bytes as JSON text (UTF-8); the message names the size, the limit
    and the setting, then gives ``advice``."""
    size = _over(value, limit)
    if size is not None:
        raise ArgumentsNotSerializable(
            f"{where}: {size:,} bytes of JSON, over the limit of {limit:,} bytes "
            f"({PAYLOAD_SETTING}); {advice}"
        )


def check_call_size(
    task_name: str, args: tuple[Any, ...] | list[Any], kwargs: Mapping[str, Any], limit: int
) -> None:
    """Refuse a call whose checked arguments take more than ``limit`` bytes of JSON."""
    if _over((args, kwargs), limit) is not None:
        check_size(
            [list(args), dict(kwargs)], limit, f"the arguments of {task_name}",
            "pass a reference to the data instead (a file path, a URL, a database id) and "
            "load it inside the task, or raise the limit",
        )


def dumps(value: JSONValue) -> str:
    """Serialise a checked value compactly; refuses NaN as a second line of defence."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False, ensure_ascii=False)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid strict JSON")


def loads(text: str | bytes) -> JSONValue:
    """Parse strict JSON (no NaN or Infinity)."""
    return json.loads(text, parse_constant=_reject_constant)
