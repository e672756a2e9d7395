"""Query parameters of the API, parsed strictly: a bad one is a 400 naming it."""

from __future__ import annotations

import datetime as dt
import math
import re

from taskbridge import Status
from taskbridge._dashboard.problems import Problem

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
DEFAULT_WINDOW = 3600.0
MIN_WINDOW, MAX_WINDOW = 60.0, 31 * 86400.0
_WINDOW = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def _invalid(field: str, message: str) -> Problem:
    return Problem(400, f"{field}: {message}", errors={field: message})


def parse_statuses(text: str | None) -> frozenset[Status] | None:
    """``FAILED`` or ``FAILED,CANCELED`` (any case); ``None`` for all statuses."""
    if not text:
        return None
    found = set()
    for part in text.split(","):
        name = part.strip().upper()
        if not name:
            continue
        try:
            found.add(Status(name))
        except ValueError:
            known = ", ".join(s.value for s in Status)
            raise _invalid("status", f"unknown status {part.strip()!r}; use {known}") from None
    return frozenset(found) or None


def parse_time(text: str | None, field: str) -> float | None:
    """ISO 8601 (a time without offset is UTC) or Unix seconds."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        try:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise _invalid(field, f"{text!r} is neither ISO 8601 nor Unix seconds") from None
        if moment.utcoffset() is None:
            moment = moment.replace(tzinfo=dt.UTC)
        try:
            return moment.timestamp()
        except (OverflowError, OSError, ValueError):
            raise _invalid(field, f"{text!r} is out of range") from None
    if not math.isfinite(value) or abs(value) > 1e11:
        raise _invalid(field, f"{text!r} is out of range")
    return value


def parse_limit(text: str | None) -> int:
    """1 to ``MAX_LIMIT`` (default ``DEFAULT_LIMIT``)."""
    if text is None or not text.strip():
        return DEFAULT_LIMIT
    try:
        value = int(text)
    except ValueError:
        raise _invalid("limit", f"{text!r} is not a whole number") from None
    if not 1 <= value <= MAX_LIMIT:
        raise _invalid("limit", f"must be from 1 to {MAX_LIMIT}")
    return value


def parse_window(text: str | None) -> float:
    """``3600``, ``90s``, ``15m``, ``1h``, ``7d``: one minute to 31 days (default 1 h)."""
    if text is None or not text.strip():
        return DEFAULT_WINDOW
    match = _WINDOW.match(text)
    if match is None:
        raise _invalid("window", f"{text!r} is not like 3600, 15m, 1h or 7d")
    seconds = float(match[1]) * _UNITS[match[2]]
    if not MIN_WINDOW <= seconds <= MAX_WINDOW:
        raise _invalid("window", "must be from 1 minute to 31 days")
    return seconds
