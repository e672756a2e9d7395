"""Schedule values: when a periodic task's ticks fall (``Cron``, ``Every``, ``At``, ``Solar``).

A schedule is a frozen value with one question to answer, ``next_after(moment)``: the first tick
strictly after an aware datetime, as an aware UTC datetime on a whole second, or ``None`` when
the schedule never fires again. Ticks are whole seconds because a periodic task receives its
tick as an ``int`` Unix timestamp, and every scheduler process must compute the same ticks.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any, ClassVar, Protocol, runtime_checkable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
from croniter import CroniterBadDateError, croniter

from taskbridge._errors import InvalidTaskOptions

UTC = dt.UTC

#: DST offsets never differ by more than this, so candidates this far apart cannot swap order.
_MAX_DST_SHIFT = dt.timedelta(hours=3)
_ALIASES = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


@runtime_checkable
class Schedule(Protocol):
    """What the scheduler needs from a schedule value."""

    kind: ClassVar[str]

    def next_after(self, moment: dt.datetime) -> dt.datetime | None:
        """The first tick strictly after ``moment`` (aware), in UTC; ``None`` if there is none."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """A JSON dict that :func:`schedule_from_dict` turns back into an equal value."""
        ...

    def describe(self) -> str:
        """A short human description for tables."""
        ...


def _aware(moment: dt.datetime, what: str) -> dt.datetime:
    if not isinstance(moment, dt.datetime) or moment.utcoffset() is None:
        raise InvalidTaskOptions(
            f"{what} must be a timezone-aware datetime, got {moment!r}; "
            "use e.g. datetime(2030, 1, 1, 9, 0, tzinfo=timezone.utc)"
        )
    return moment


def _from_seconds(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, UTC)


def _zone(instance: Cron, attribute: attrs.Attribute[str], name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise InvalidTaskOptions(
            f"unknown time zone {name!r} in Cron({instance.expr!r}); use an IANA name such as "
            "'UTC' or 'Europe/Berlin'"
        ) from exc


@attrs.frozen
class Cron:
    """Ticks at the times a croniter expression matches, read on the wall clock of ``tz``.

    Daylight saving follows classic cron: when the hour field is fixed (``30 2 * * *``), a wall
    time the clock skips runs at the moment of the change, and a wall time the clock repeats runs
    once (its first occurrence). When the hour field starts with ``*``, ticks follow the clock
    as it reads: skipped wall times do not run, repeated ones run in both passes.
    """

    kind: ClassVar[str] = "cron"

    expr: str
    tz: str = attrs.field(default="UTC", validator=_zone)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.expr, str) or not croniter.is_valid(self._expanded):
            raise InvalidTaskOptions(
                f"invalid cron expression {self.expr!r}; expected 5 fields (minute hour "
                "day-of-month month day-of-week), an optional 6th for seconds, or an alias "
                "such as @daily"
            )
        if self.next_after(dt.datetime(2000, 1, 1, tzinfo=UTC)) is None:
            raise InvalidTaskOptions(f"cron expression {self.expr!r} never matches a real date")

    @property
    def _expanded(self) -> str:
        expr = str(self.expr).strip()
        return _ALIASES.get(expr.lower(), expr)

    @property
    def _wildcard_hour(self) -> bool:
        return self._expanded.split()[1].startswith("*")

    def next_after(self, moment: dt.datetime) -> dt.datetime | None:
        moment = _aware(moment, "next_after's moment").astimezone(UTC)
        zone = ZoneInfo(self.tz)
        local = moment.astimezone(zone).replace(tzinfo=None)
        # Walk wall-clock candidates, map each to the instants it denotes, and keep the earliest
        # instant after `moment`. Near a clock change, wall-clock order and real order can
        # differ by the shift, so there the walk starts earlier and goes on a little longer.
        try:
            wall = croniter(
                self._expanded, local - _MAX_DST_SHIFT if _changes_near(zone, moment) else local
            )
            best: dt.datetime | None = None
            while True:
                candidate: dt.datetime = wall.get_next(dt.datetime)
                if best is not None and (
                    not _changes_near(zone, best)
                    or candidate > best.astimezone(zone).replace(tzinfo=None) + _MAX_DST_SHIFT
                ):
                    return best
                for instant in self._instants(candidate, zone):
                    if instant > moment and (best is None or instant < best):
                        best = instant
        except CroniterBadDateError:
            return None

    def _instants(self, wall: dt.datetime, zone: ZoneInfo) -> list[dt.datetime]:
        first = wall.replace(tzinfo=zone, fold=0)
        second = wall.replace(tzinfo=zone, fold=1)
        earlier = min(first.astimezone(UTC), second.astimezone(UTC))
        later = max(first.astimezone(UTC), second.astimezone(UTC))
        if earlier == later:
            return [earlier]
        if earlier.astimezone(zone).replace(tzinfo=None) == wall:
            # An ambiguous (repeated) wall time: both instants read as `wall`.
            return [earlier, later] if self._wildcard_hour else [earlier]
        # A skipped wall time: it exists on no clock that day.
        return [] if self._wildcard_hour else [_change_instant(earlier, later, zone)]

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "expr": self.expr, "tz": self.tz}

    def describe(self) -> str:
        return f"cron {self.expr}" + ("" if self.tz == "UTC" else f" ({self.tz})")


def _changes_near(zone: ZoneInfo, moment: dt.datetime) -> bool:
    """Whether the zone's UTC offset changes within ``_MAX_DST_SHIFT`` of ``moment``."""
    offsets = {(moment + k * _MAX_DST_SHIFT).astimezone(zone).utcoffset() for k in (-1, 0, 1)}
    return len(offsets) > 1


def _change_instant(before: dt.datetime, after: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """The first whole second in ``(before, after]`` whose offset is the post-change one."""
    offset = after.astimezone(zone).utcoffset()
    low, high = int(before.timestamp()), int(after.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if _from_seconds(middle).astimezone(zone).utcoffset() == offset:
            high = middle
        else:
            low = middle
    return _from_seconds(high)


def _interval(instance: Every, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise InvalidTaskOptions(
            f"Every({attribute.name}=...) must be a number >= 0, got {value!r}"
        )


@attrs.frozen
class Every:
    """Ticks every fixed interval, anchored on the Unix epoch (``Every(hours=24)`` ticks at
    midnight UTC), so every scheduler process computes the same ticks."""

    kind: ClassVar[str] = "every"

    seconds: float = attrs.field(default=0.0, validator=_interval)
    minutes: float = attrs.field(default=0.0, validator=_interval)
    hours: float = attrs.field(default=0.0, validator=_interval)
    days: float = attrs.field(default=0.0, validator=_interval)

    def __attrs_post_init__(self) -> None:
        total = self.total_seconds
        if total <= 0:
            raise InvalidTaskOptions(
                "Every() needs a positive interval, e.g. Every(minutes=5); got zero"
            )
        if total != int(total):
            raise InvalidTaskOptions(
                f"Every() interval must be a whole number of seconds, got {total}s"
            )

    @property
    def total_seconds(self) -> float:
        return self.seconds + 60 * self.minutes + 3600 * self.hours + 86400 * self.days

    def next_after(self, moment: dt.datetime) -> dt.datetime | None:
        step = int(self.total_seconds)
        now = math.floor(_aware(moment, "next_after's moment").timestamp())
        return _from_seconds((now // step + 1) * step)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "seconds": self.seconds, "minutes": self.minutes,
                "hours": self.hours, "days": self.days}

    def describe(self) -> str:
        step = int(self.total_seconds)
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if step % size == 0:
                return f"every {step // size}{unit}"
        return f"every {step}s"


def _whole_second_utc(moment: dt.datetime) -> dt.datetime:
    return _aware(moment, "At(when)").astimezone(UTC).replace(microsecond=0)


@attrs.frozen
class At:
    """One tick at ``when`` (aware; kept to the whole second, in UTC)."""

    kind: ClassVar[str] = "at"

    when: dt.datetime = attrs.field(converter=_whole_second_utc)

    def next_after(self, moment: dt.datetime) -> dt.datetime | None:
        return self.when if self.when > _aware(moment, "next_after's moment") else None

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "when": self.when.isoformat()}

    def describe(self) -> str:
        return f"at {self.when.isoformat()}"


SOLAR_EVENTS = ("dawn", "sunrise", "noon", "sunset", "dusk")
#: Zenith angle (degrees) and direction of each event but noon, as astral defines them: dawn
#: and dusk civil (6 degrees below the horizon), sunrise and sunset at the sun's upper limb.
_SOLAR_ZENITHS = {
    "dawn": (96.0, True), "sunrise": (90.0 + 32.0 / 120.0, True),
    "sunset": (90.0 + 32.0 / 120.0, False), "dusk": (96.0, False),
}


def _coordinate(limit: float) -> Any:
    def check(instance: Solar, attribute: attrs.Attribute[float], value: float) -> None:
        if (
            isinstance(value, bool) or not isinstance(value, int | float)
            or not math.isfinite(value) or not -limit <= value <= limit
        ):
            raise InvalidTaskOptions(
                f"Solar {attribute.name} must be a number from {-limit:g} to {limit:g}, "
                f"got {value!r}"
            )
    return check


def _event(instance: Solar, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in SOLAR_EVENTS:
        raise InvalidTaskOptions(
            f"unknown solar event {value!r}; use one of {', '.join(SOLAR_EVENTS)}"
        )


@attrs.frozen
class Solar:
    """Ticks at a daily solar event (dawn, sunrise, noon, sunset, dusk) at a place on Earth.

    Where the event does not happen on a day (polar day or night) that day has no tick; a
    place where it does not happen for a whole year never fires.
    """

    kind: ClassVar[str] = "solar"

    event: str = attrs.field(validator=_event)
    latitude: float = attrs.field(validator=_coordinate(90))
    longitude: float = attrs.field(validator=_coordinate(180))

    def next_after(self, moment: dt.datetime) -> dt.datetime | None:
        after = _aware(moment, "next_after's moment").astimezone(UTC)
        # Days are the place's solar days (noon at 720 - 4 * longitude minutes UTC): each holds
        # exactly one of the event, and the events of successive days follow each other.
        day = (after + dt.timedelta(minutes=4 * self.longitude)).date() - dt.timedelta(days=1)
        for _ in range(370):
            when = self._event_on(day)
            if when is not None and when > after:
                return when
            day += dt.timedelta(days=1)
        return None

    def _event_on(self, day: dt.date) -> dt.datetime | None:
        """The event of the place's solar day ``day`` (``None`` when the sun does not cross the
        event's elevation that day), on a whole second.

        astral's date functions count days from midnight UTC and look for one event in each,
        which skips one near midnight UTC (two fall on one UTC date); this is astral's
        ``time_of_transit`` computed from the place's own day instead.
        """
        from astral import SunDirection, refraction_at_zenith, sun
        from astral.julian import julianday, julianday_to_juliancentury

        jd = julianday(day)
        if self.event == "noon":
            minutes = 720.0 - 4 * self.longitude - sun.eq_of_time(
                julianday_to_juliancentury(jd + 0.5 - self.longitude / 360)
            )
        else:
            zenith, rising = _SOLAR_ZENITHS[self.event]
            direction = SunDirection.RISING if rising else SunDirection.SETTING
            zenith += refraction_at_zenith(zenith)
            latitude = max(-89.8, min(89.8, self.latitude))
            minutes = 720.0 - 4 * self.longitude
            for _ in range(2):  # as astral does: once more at the first estimate's moment
                century = julianday_to_juliancentury(jd + minutes / 1440.0)
                try:
                    angle = sun.hour_angle(latitude, sun.sun_declination(century), zenith,
                                           direction)
                except ValueError:  # the sun does not cross that elevation on this day
                    return None
                minutes = 720.0 - 4 * (self.longitude + math.degrees(angle))
                minutes -= sun.eq_of_time(century)
        midnight = dt.datetime(day.year, day.month, day.day, tzinfo=UTC)
        return _from_seconds(math.floor((midnight + dt.timedelta(minutes=minutes)).timestamp()))

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "event": self.event, "latitude": self.latitude,
                "longitude": self.longitude}

    def describe(self) -> str:
        return f"{self.event} at {self.latitude:g},{self.longitude:g}"


_KINDS: dict[str, Any] = {"cron": Cron, "every": Every, "at": At, "solar": Solar}


def schedule_from_dict(data: dict[str, Any]) -> Schedule:
    """Rebuild a schedule value from :meth:`Schedule.to_dict`'s output."""
    if not isinstance(data, dict) or data.get("type") not in _KINDS:
        raise InvalidTaskOptions(
            f"not a stored schedule: {data!r}; expected a dict with type "
            f"{', '.join(sorted(_KINDS))}"
        )
    fields = {k: v for k, v in data.items() if k != "type"}
    if data["type"] == "at" and isinstance(fields.get("when"), str):
        fields["when"] = dt.datetime.fromisoformat(fields["when"])
    try:
        return _KINDS[data["type"]](**fields)  # type: ignore[no-any-return]
    except TypeError as exc:
        raise InvalidTaskOptions(f"stored schedule {data!r} is malformed: {exc}") from exc


_EVERY = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")


def parse_every(text: str) -> Every:
    """``"90"``, ``"90s"``, ``"5m"``, ``"2h"``, ``"1d"`` → :class:`Every` (for the CLI)."""
    match = _EVERY.match(text)
    if match is None:
        raise InvalidTaskOptions(f"interval {text!r} is not like 30s, 5m, 2h or 1d")
    unit = {"": "seconds", "s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match[2]]
    return Every(**{unit: int(match[1])})


__all__ = ["At", "Cron", "Every", "Schedule", "Solar", "schedule_from_dict"]
