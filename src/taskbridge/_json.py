"""Strict JSON: the one check every argument and result goes through before it is sent or stored."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import re
import uuid
from collections.abc import Mapping
from typing import Any

from taskbridge._errors import ArgumentsNotSerializable

JSONValue = Any  # None | bool | int | float | str | list[JSONValue] | dict[str, JSONValue]

#: How deeply lists and dicts may nest inside one argument or result. Every engine runs this
#: depth with room to spare: Celery's prefork pool pickles arguments to its children and breaks
#: near 480 levels, the JSON codecs every engine and store use break near 990 (Python's
#: recursion limit), and a message one of them cannot read would wait forever.
MAX_DEPTH = 64
#: The longest int JSON carries here: CPython's default limit on int/str conversion
#: (``sys.int_info.default_max_str_digits``), which every worker's JSON decoder enforces.
MAX_INT_DIGITS = 4300
_INT_LIMIT = 10**MAX_INT_DIGITS
_INT_BITS = _INT_LIMIT.bit_length() - 1  # below this many bits, an int is shorter for sure


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
    """Raise :class:`ArgumentsNotSerializable` unless ``value`` is a strict JSON value that
    every engine can carry.

    The message names the path of the first offending value (``kwargs['user']['created_at']``)
    and its type. Tuples are accepted and arrive as lists. Besides the types, a value is refused
    when it nests deeper than :data:`MAX_DEPTH`, holds an int longer than
    :data:`MAX_INT_DIGITS` digits, or holds text UTF-8 cannot encode (a lone surrogate).
    """
    _check(value, path, set(), 0)


def _check(value: Any, path: str, active: set[int], depth: int) -> None:
    # Exact type checks: a bool subclass or an IntEnum would serialise differently
    # from how it reads back, so only the built-in types themselves are JSON.
    kind = type(value)
    if kind is str:
        if not value.isascii():  # ASCII, by far the commonest, always encodes
            _check_text(value, path)
        return
    if kind is bool or value is None:
        return
    if kind is int:
        if value.bit_length() > _INT_BITS and abs(value) >= _INT_LIMIT:
            raise ArgumentsNotSerializable(
                f"{path}: int has more than {MAX_INT_DIGITS} digits, more than JSON decoders "
                "accept; pass str(value) and convert it in the task"
            )
        return
    if kind is float:
        if not math.isfinite(value):
            raise _fail(path, value, f"{value!r} is not a finite number")
        return
    if kind is list or kind is tuple or kind is dict:
        if depth == MAX_DEPTH:
            raise ArgumentsNotSerializable(
                f"{path}: {kind.__qualname__} nested deeper than {MAX_DEPTH} levels, the most "
                "every engine can carry; flatten the value (e.g. a list of rows) or pass it "
                "as text and parse it in the task"
            )
        if id(value) in active:
            raise _fail(path, value, "the value contains itself (a cycle)")
        active.add(id(value))
        if kind is dict:
            for key, item in value.items():
                if type(key) is not str:
                    raise ArgumentsNotSerializable(
                        f"{path}: key {key!r} is a {type(key).__qualname__}, JSON object keys "
                        f"must be str; pass str({key!r}) as the key"
                    )
                if not key.isascii():
                    _check_text(key, f"{path} key {key!r}")
                _check(item, f"{path}[{key!r}]", active, depth + 1)
        else:
            for index, item in enumerate(value):
                _check(item, f"{path}[{index}]", active, depth + 1)
        active.discard(id(value))
        return
    raise _fail(path, value)


def _check_text(text: str, path: str) -> None:
    """Refuse text UTF-8 cannot encode: it would be sent or stored as bytes somewhere."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ArgumentsNotSerializable(
            f"{path}: str holds {text[exc.start:exc.end]!r} at index {exc.start}, a lone "
            "surrogate UTF-8 cannot encode; pass valid Unicode text (decode bytes with "
            "errors='replace') or base64 of the raw bytes"
        ) from None


def check_arguments(args: tuple[Any, ...] | list[Any], kwargs: Mapping[str, Any]) -> None:
    """Check a call's positional and keyword arguments, naming ``args[i]`` / ``kwargs['k']``."""
    for index, item in enumerate(args):
        _check(item, f"args[{index}]", set(), 0)
    for key, item in kwargs.items():
        if type(key) is not str:
            raise ArgumentsNotSerializable(
                f"kwargs: key {key!r} is a {type(key).__qualname__}, keyword argument names "
                "must be str"
            )
        if not key.isascii():
            _check_text(key, f"kwargs key {key!r}")
        _check(item, f"kwargs[{key!r}]", set(), 0)


def deeper_than(value: object, depth: int) -> bool:
    """Whether lists, tuples and dicts nest more than ``depth`` levels in ``value``: a check
    that never recurses, for values decoded from a message (a cycle counts as too deep)."""
    level = [value]
    for _ in range(depth):
        below: list[object] = []
        for item in level:
            if isinstance(item, list | tuple):
                below.extend(item)
            elif isinstance(item, dict):
                below.extend(item.values())
        if not below:
            return False
        level = below
    return any(isinstance(item, list | tuple | dict) for item in level)


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


#: One encoder for every serialisation (``json.dumps`` with options builds one per call).
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False, ensure_ascii=False)


def dumps(value: JSONValue) -> str:
    """Serialise a checked value compactly; refuses NaN as a second line of defence."""
    return _ENCODER.encode(value)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid strict JSON")


#: One strict decoder for every parse: ``json.loads`` with an option builds a new decoder (and
#: its scanner) per call, a third of the time of parsing a small document.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _parse(text: str | bytes) -> JSONValue:
    if isinstance(text, bytes | bytearray):  # decoded as json.loads decodes them
        text = text.decode(json.detect_encoding(text), "surrogatepass")
    elif not isinstance(text, str):
        raise TypeError(f"JSON text must be str, bytes or bytearray, not {type(text).__name__}")
    return _DECODER.decode(text)


def loads(text: str | bytes, *, max_depth: int | None = None) -> JSONValue:
    """Parse strict JSON (no NaN or Infinity).

    With ``max_depth``, a document whose arrays and objects nest deeper is refused with
    ``ValueError`` before it is parsed: how a worker reads a message from a queue anyone may
    write to, without a ``RecursionError`` from deep inside the decoder.
    """
    if max_depth is not None and _may_nest_deeper(text, max_depth):
        _prune(text, max_depth, refuse=True)
    return _parse(text)


def _may_nest_deeper(text: str | bytes, depth: int) -> bool:
    """False when ``text`` has too few brackets to nest deeper than ``depth`` (most messages:
    counting them is far cheaper than the scan that follows them)."""
    if isinstance(text, str):
        return text.count("[") + text.count("{") > depth
    if isinstance(text, bytes | bytearray):
        return text.count(b"[") + text.count(b"{") > depth
    return True


def loads_outline(text: str | bytes, depth: int) -> JSONValue:
    """Parse the top ``depth`` levels of a strict JSON document, every array or object below
    them read as ``None``: the well-formed fields of a message too deep to parse whole.

    Raises ``ValueError`` when the text is not JSON; the pruned parts must be balanced arrays
    and objects of well-formed strings.
    """
    return _parse(_prune(text, depth, refuse=False))


#: A JSON string (escapes included), a bracket, or a quote opening a string that never ends.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]|"')
_CLOSING = {"]": "[", "}": "{"}


def _prune(text: str | bytes, depth: int, *, refuse: bool) -> str:
    """``text`` with every array or object below ``depth`` levels replaced by ``null``, or,
    with ``refuse``, ``ValueError`` if there is any. One regular-expression pass, no recursion.
    """
    if isinstance(text, bytes | bytearray | memoryview):
        text = bytes(text).decode("utf-8")
    if depth < 0:
        raise ValueError("depth must be at least 0")
    opened: list[str] = []
    pieces: list[str] = []
    kept = 0  # end of the last piece of text kept
    pruned_from = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token == '"':
            raise ValueError(f"unterminated string at character {match.start()}")
        if token[0] == '"':
            continue
        if token in "[{":
            opened.append(token)
            if len(opened) == depth + 1:
                if refuse:
                    raise ValueError(
                        f"JSON nested deeper than {depth} levels at character {match.start()}"
                    )
                pruned_from = match.start()
            continue
        if not opened or opened.pop() != _CLOSING[token]:
            raise ValueError(f"unbalanced {token!r} at character {match.start()}")
        if len(opened) == depth:
            pieces += [text[kept:pruned_from], "null"]
            kept = match.end()
    return text if not pieces else "".join(pieces) + text[kept:]
