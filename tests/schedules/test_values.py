"""Schedule values: ticks, time zones and daylight saving, validation, and JSON round trips."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

from taskbridge import InvalidTaskOptions
from taskbridge._schedules.values import At, Cron, Every, Solar, parse_every, schedule_from_dict

UTC = dt.UTC
BERLIN = ZoneInfo("Europe/Berlin")


def ticks(schedule: object, start: dt.datetime, count: int) -> list[dt.datetime]:
    out, moment = [], start
    for _ in range(count):
        moment = schedule.next_after(moment)  # type: ignore[attr-defined]
        out.append(moment)
    return out


def local(moments: list[dt.datetime]) -> list[str]:
    return [m.astimezone(BERLIN).strftime("%m-%d %H:%M%z") for m in moments]


def test_cron_in_utc_ticks_on_matching_minutes() -> None:
    """Cron('*/15 * * * *') ticks on the quarter hours, strictly after the moment asked."""
    start = dt.datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert ticks(Cron("*/15 * * * *"), start, 3) == [
        dt.datetime(2024, 5, 1, 10, m, tzinfo=UTC) for m in (15, 30, 45)
    ]


def test_cron_returns_aware_utc_on_whole_seconds() -> None:
    """Ticks are aware UTC datetimes with no microseconds, whatever the moment's zone."""
    moment = dt.datetime(2024, 5, 1, 10, 0, 0, 123, tzinfo=BERLIN)
    tick = Cron("* * * * *", tz="Europe/Berlin").next_after(moment)
    assert tick is not None and tick.tzinfo is UTC and tick.microsecond == 0


def test_cron_reads_the_wall_clock_of_its_zone() -> None:
    """Cron('0 9 * * *', tz='Europe/Berlin') ticks at 09:00 Berlin time, winter and summer."""
    cron = Cron("0 9 * * *", tz="Europe/Berlin")
    winter = cron.next_after(dt.datetime(2024, 1, 10, tzinfo=UTC))
    summer = cron.next_after(dt.datetime(2024, 7, 10, tzinfo=UTC))
    assert winter == dt.datetime(2024, 1, 10, 8, 0, tzinfo=UTC)
    assert summer == dt.datetime(2024, 7, 10, 7, 0, tzinfo=UTC)


def test_fixed_hour_cron_on_spring_forward_runs_once_at_the_change() -> None:
    """'30 2 * * *' in Berlin: 02:30 does not exist on 31 March 2024, so it runs at 03:00."""
    found = ticks(Cron("30 2 * * *", tz="Europe/Berlin"), dt.datetime(2024, 3, 29, tzinfo=UTC), 4)
    assert local(found) == [
        "03-29 02:30+0100", "03-30 02:30+0100", "03-31 03:00+0200", "04-01 02:30+0200",
    ]


def test_fixed_hour_cron_on_fall_back_runs_once() -> None:
    """'30 2 * * *' in Berlin: 02:30 happens twice on 27 October 2024 and runs only the first."""
    found = ticks(Cron("30 2 * * *", tz="Europe/Berlin"), dt.datetime(2024, 10, 25, tzinfo=UTC), 4)
    assert local(found) == [
        "10-25 02:30+0200", "10-26 02:30+0200", "10-27 02:30+0200", "10-28 02:30+0100",
    ]


def test_wildcard_hour_cron_follows_the_clock_through_fall_back() -> None:
    """'*/30 * * * *' keeps ticking every 30 real minutes through the repeated hour."""
    cron = Cron("*/30 * * * *", tz="Europe/Berlin")
    found = ticks(cron, dt.datetime(2024, 10, 26, 23, 10, tzinfo=UTC), 6)
    assert [t.timestamp() - found[0].timestamp() for t in found] == [i * 1800 for i in range(6)]


def test_wildcard_hour_cron_skips_wall_times_that_do_not_exist() -> None:
    """'15 * * * *' on spring-forward day: 02:15 does not exist and does not run."""
    found = ticks(Cron("15 * * * *", tz="Europe/Berlin"), dt.datetime(2024, 3, 30, 23, 30,
                                                                        tzinfo=UTC), 3)
    assert local(found) == ["03-31 01:15+0100", "03-31 03:15+0200", "03-31 04:15+0200"]


def test_cron_accepts_aliases_and_seconds() -> None:
    """'@hourly' and six-field (seconds) expressions work."""
    start = dt.datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert Cron("@hourly").next_after(start) == dt.datetime(2024, 5, 1, 11, 0, tzinfo=UTC)
    assert Cron("* * * * * */10").next_after(start) == dt.datetime(2024, 5, 1, 10, 0, 10,
                                                                    tzinfo=UTC)


def test_every_is_anchored_on_the_epoch() -> None:
    """Every(minutes=5) ticks at multiples of 300 s since the epoch, wherever one starts."""
    every = Every(minutes=5)
    for start in (dt.datetime(2024, 5, 1, 10, 2, 7, tzinfo=UTC),
                  dt.datetime(2024, 5, 1, 12, 2, 7, tzinfo=BERLIN)):
        tick = every.next_after(start)
        assert tick is not None and tick.timestamp() % 300 == 0
        assert 0 < (tick - start).total_seconds() <= 300


def test_every_on_a_tick_returns_the_next_one() -> None:
    """A moment exactly on a tick gets the following tick (strictly after)."""
    on_tick = dt.datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert Every(hours=1).next_after(on_tick) == dt.datetime(2024, 5, 1, 11, 0, tzinfo=UTC)


def test_at_fires_once() -> None:
    """At(when) ticks at ``when`` and never again."""
    when = dt.datetime(2030, 1, 1, 9, 0, 0, 500_000, tzinfo=BERLIN)
    at = At(when)
    assert at.when == dt.datetime(2030, 1, 1, 8, 0, tzinfo=UTC)
    assert at.next_after(dt.datetime(2029, 1, 1, tzinfo=UTC)) == at.when
    assert at.next_after(at.when) is None


@pytest.mark.parametrize("event", ["dawn", "sunrise", "noon", "sunset", "dusk"])
def test_solar_events_fall_in_order_on_a_day(event: str) -> None:
    """Each solar event in Berlin on 1 June falls on that day, in the usual order."""
    start = dt.datetime(2024, 6, 1, 0, 0, tzinfo=BERLIN)
    tick = Solar(event, 52.52, 13.40).next_after(start)
    assert tick is not None and tick.astimezone(BERLIN).date() == dt.date(2024, 6, 1)
    hours = {"dawn": (3, 5), "sunrise": (4, 6), "noon": (12, 14), "sunset": (20, 22),
             "dusk": (21, 23)}[event]
    assert hours[0] <= tick.astimezone(BERLIN).hour < hours[1]


def test_solar_skips_polar_night() -> None:
    """Above the Arctic circle in December there is no sunrise; the next one is in January."""
    tick = Solar("sunrise", 78.2, 15.6).next_after(dt.datetime(2024, 12, 1, tzinfo=UTC))
    assert tick is not None and tick > dt.datetime(2025, 1, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Cron("61 * * * *"), "invalid cron expression"),
        (lambda: Cron("not cron"), "invalid cron expression"),
        (lambda: Cron("0 0 30 2 *"), "never matches"),
        (lambda: Cron("* * * * *", tz="Mars/Olympus"), "unknown time zone"),
        (lambda: Every(), "positive interval"),
        (lambda: Every(seconds=-5), ">= 0"),
        (lambda: Every(seconds=1.5), "whole number of seconds"),
        (lambda: At(dt.datetime(2030, 1, 1)), "timezone-aware"),
        (lambda: Solar("sunrise", 91, 0), "latitude must be a number from -90 to 90"),
        (lambda: Solar("sunrise", 0, 181), "longitude must be a number from -180 to 180"),
        (lambda: Solar("moonrise", 0, 0), "unknown solar event"),
        (lambda: parse_every("soon"), "not like 30s"),
    ],
)
def test_bad_input_is_a_one_line_error(make: object, message: str) -> None:
    """Invalid schedules raise InvalidTaskOptions with a one-line message saying what is wrong."""
    with pytest.raises(InvalidTaskOptions, match=message) as caught:
        make()  # type: ignore[operator]
    assert "\n" not in str(caught.value)


def test_naive_moment_is_refused() -> None:
    """next_after refuses a naive datetime instead of guessing its zone."""
    with pytest.raises(InvalidTaskOptions, match="timezone-aware"):
        Every(seconds=10).next_after(dt.datetime(2024, 1, 1))


@pytest.mark.parametrize(
    "schedule",
    [Cron("*/5 * * * *"), Cron("30 2 * * *", tz="Europe/Berlin"), Every(minutes=90),
     Every(days=1, hours=2), At(dt.datetime(2030, 1, 1, tzinfo=UTC)),
     Solar("sunset", -33.9, 151.2)],
)
def test_json_round_trip(schedule: object) -> None:
    """Each schedule survives to_dict → JSON → schedule_from_dict as an equal value."""
    data = json.loads(json.dumps(schedule.to_dict()))  # type: ignore[attr-defined]
    assert schedule_from_dict(data) == schedule


def test_unknown_stored_schedule_is_refused() -> None:
    """A stored dict of an unknown type is InvalidTaskOptions naming the known types."""
    with pytest.raises(InvalidTaskOptions, match="at, cron, every, solar"):
        schedule_from_dict({"type": "lunar"})


def test_parse_every_units() -> None:
    """The CLI's interval syntax: plain seconds or s/m/h/d suffixes."""
    assert parse_every("90").total_seconds == 90
    assert parse_every("5m").total_seconds == 300
    assert parse_every("2h").total_seconds == 7200
    assert parse_every("1d").total_seconds == 86400
