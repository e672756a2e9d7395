"""Property tests for schedule values: monotonic ticks, DST behaviour, croniter agreement."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from croniter import croniter
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from taskbridge._schedules.values import Cron, Every, Solar

UTC = dt.UTC
#: Zones whose DST shifts are one whole hour, on the hour.
DST_ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "America/Santiago"]
ZONES = ["UTC", *DST_ZONES, "Asia/Kolkata"]


def _field(low: int, high: int) -> st.SearchStrategy[str]:
    value = st.integers(low, high)
    return st.one_of(
        st.just("*"),
        value.map(str),
        st.integers(2, max(2, (high - low) // 2)).map(lambda n: f"*/{n}"),
        st.tuples(value, value).map(lambda ab: f"{min(ab)}-{max(ab)}"),
        st.lists(value, min_size=2, max_size=3, unique=True).map(
            lambda vs: ",".join(map(str, sorted(vs)))
        ),
    )


cron_exprs = st.tuples(
    _field(0, 59), _field(0, 23), st.one_of(st.just("*"), st.integers(1, 28).map(str)),
    st.one_of(st.just("*"), st.integers(1, 12).map(str)), st.sampled_from(["*", "1-5", "0"]),
).map(" ".join)
moments = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2040, 1, 1), timezones=st.just(UTC)
)


def _offset_constant(zone: ZoneInfo, start: dt.datetime, end: dt.datetime) -> bool:
    probe, offset = start, start.astimezone(zone).utcoffset()
    while probe <= end:
        if probe.astimezone(zone).utcoffset() != offset:
            return False
        probe += dt.timedelta(minutes=30)
    return end.astimezone(zone).utcoffset() == offset


@settings(max_examples=100, deadline=None)
@given(expr=cron_exprs, tz=st.sampled_from(ZONES), start=moments)
def test_cron_ticks_strictly_increase(expr: str, tz: str, start: dt.datetime) -> None:
    """Cron.next_after returns whole-second UTC ticks, each strictly after the one before."""
    cron, moment = Cron(expr, tz=tz), start
    for _ in range(4):
        tick = cron.next_after(moment)
        assert tick is not None and tick > moment
        assert tick.tzinfo is UTC and tick.microsecond == 0
        moment = tick


@settings(max_examples=100, deadline=None)
@given(expr=cron_exprs, start=moments)
def test_cron_in_utc_agrees_with_croniter(expr: str, start: dt.datetime) -> None:
    """In UTC, where no clock changes, Cron gives exactly croniter's next time."""
    expected = croniter(expr, start).get_next(dt.datetime)
    assert Cron(expr).next_after(start) == expected


@settings(max_examples=100, deadline=None)
@given(expr=cron_exprs, tz=st.sampled_from(DST_ZONES), start=moments)
def test_cron_agrees_with_croniter_away_from_clock_changes(
    expr: str, tz: str, start: dt.datetime
) -> None:
    """In a DST zone, Cron matches croniter whenever no clock change is near the tick."""
    zone = ZoneInfo(tz)
    tick = Cron(expr, tz=tz).next_after(start)
    assert tick is not None
    margin = dt.timedelta(hours=3)
    if _offset_constant(zone, start - margin, tick + margin):
        expected = croniter(expr, start.astimezone(zone)).get_next(dt.datetime)
        assert tick == expected.astimezone(UTC)


@settings(max_examples=100, deadline=None)
@given(expr=cron_exprs, tz=st.sampled_from(DST_ZONES), start=moments)
def test_cron_ticks_read_as_matching_wall_times(expr: str, tz: str, start: dt.datetime) -> None:
    """Every tick reads, on the zone's clock, as a time the expression matches, except the
    instant of a spring-forward change, where a fixed-hour expression's skipped time runs."""
    zone = ZoneInfo(tz)
    cron, moment = Cron(expr, tz=tz), start
    for _ in range(3):
        tick = cron.next_after(moment)
        assert tick is not None
        wall = tick.astimezone(zone).replace(tzinfo=None)
        if not croniter.match(expr, wall):
            just_before = (tick - dt.timedelta(seconds=1)).astimezone(zone).utcoffset()
            assert not expr.split()[1].startswith("*")
            assert just_before is not None and just_before < tick.astimezone(zone).utcoffset()
        moment = tick


@settings(max_examples=10, deadline=None)
@given(minute=st.integers(0, 59), hour=st.integers(0, 23), tz=st.sampled_from(DST_ZONES),
       year=st.integers(2001, 2039))
def test_fixed_time_cron_runs_once_every_local_day(
    minute: int, hour: int, tz: str, year: int
) -> None:
    """A daily 'M H * * *' job runs exactly once on each local date of a year, DST days too."""
    zone = ZoneInfo(tz)
    cron = Cron(f"{minute} {hour} * * *", tz=tz)
    moment = dt.datetime(year, 1, 1, tzinfo=zone) - dt.timedelta(seconds=1)
    dates = []
    while (tick := cron.next_after(moment)) is not None and tick.astimezone(zone).year == year:
        dates.append(tick.astimezone(zone).date())
        moment = tick
    assert dates == [dt.date(year, 1, 1) + dt.timedelta(days=i) for i in range(len(dates))]
    assert len(dates) in (365, 366)


@settings(max_examples=60, deadline=None)
@given(minute=st.integers(0, 59), tz=st.sampled_from(DST_ZONES), start=moments)
def test_hourly_cron_ticks_every_real_hour_through_clock_changes(
    minute: int, tz: str, start: dt.datetime
) -> None:
    """'M * * * *' ticks exactly 3600 s apart, across spring-forward and fall-back alike."""
    cron = Cron(f"{minute} * * * *", tz=tz)
    tick = cron.next_after(start)
    assert tick is not None
    for _ in range(30):
        following = cron.next_after(tick)
        assert following is not None and (following - tick).total_seconds() == 3600
        tick = following


@settings(max_examples=60, deadline=None)
@given(minute=st.integers(0, 59), tz=st.sampled_from(DST_ZONES),
       year=st.integers(2001, 2039), fall=st.booleans())
def test_hourly_cron_around_each_clock_change(
    minute: int, tz: str, year: int, fall: bool
) -> None:
    """Around the year's actual DST changes, an hourly job neither skips nor repeats an hour."""
    zone = ZoneInfo(tz)
    probe = dt.datetime(year, 1, 1, tzinfo=UTC)
    changes = []
    while probe.year == year:
        following = probe + dt.timedelta(hours=1)
        if probe.astimezone(zone).utcoffset() != following.astimezone(zone).utcoffset():
            changes.append(following)
        probe = following
    assume(changes)  # some years have none (Santiago kept summer time through 2015)
    change = changes[1 if fall and len(changes) > 1 else 0]
    cron = Cron(f"{minute} * * * *", tz=tz)
    tick = cron.next_after(change - dt.timedelta(hours=4))
    assert tick is not None
    for _ in range(8):
        following = cron.next_after(tick)
        assert following is not None and (following - tick).total_seconds() == 3600
        tick = following


@settings(max_examples=200, deadline=None)
@given(seconds=st.integers(1, 10 * 86400), start=moments)
def test_every_ticks_are_multiples_of_the_interval(seconds: int, start: dt.datetime) -> None:
    """Every(seconds=n) ticks on multiples of n, strictly increasing, the first within n."""
    every = Every(seconds=seconds)
    tick = every.next_after(start)
    assert tick is not None and 0 < (tick - start).total_seconds() <= seconds
    for _ in range(3):
        assert tick.timestamp() % seconds == 0
        following = every.next_after(tick)
        assert following is not None and (following - tick).total_seconds() == seconds
        tick = following


@settings(max_examples=40, deadline=None)
@given(
    event=st.sampled_from(["dawn", "sunrise", "noon", "sunset", "dusk"]),
    latitude=st.floats(-65, 65), longitude=st.floats(-180, 180), start=moments,
)
# Both events fall around midnight UTC that month, twice on one UTC date: counted in UTC days,
# one was skipped.
@example(event="dusk", latitude=48.0, longitude=-101.0,
         start=dt.datetime(2000, 10, 29, 12, tzinfo=dt.UTC))
@example(event="sunrise", latitude=0.0, longitude=86.0,
         start=dt.datetime(2000, 10, 7, 0, 1, tzinfo=dt.UTC))
def test_solar_ticks_strictly_increase(
    event: str, latitude: float, longitude: float, start: dt.datetime
) -> None:
    """Solar.next_after returns whole-second UTC ticks, strictly increasing, about a day apart."""
    solar, moment = Solar(event, latitude, longitude), start
    previous = None
    for _ in range(3):
        tick = solar.next_after(moment)
        assert tick is not None and tick > moment and tick.microsecond == 0
        if previous is not None:
            assert 0.9 * 86400 < (tick - previous).total_seconds() < 1.1 * 86400
        previous = moment = tick
