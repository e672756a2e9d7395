"""The reference queries: keyset pages equal the sorted order, cursors round-trip, counts and
buckets agree with a direct count."""

from __future__ import annotations

import contextlib
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskbridge import Record, RecordFilter, Status
from taskbridge._dashboard.queries import Cursor, ReferenceQueries, newest_first
from taskbridge.plugin import MemoryStore

ids = st.text(alphabet=string.hexdigits.lower(), min_size=1, max_size=6)
times = st.sampled_from([1000.0, 1000.5, 1001.0, 1002.0])  # few values: many ties


def _record(id: str, at: float, status: Status) -> Record:
    return Record(id=id, task_name="t", queue="q", status=status, enqueued_at=at)


@given(records=st.dictionaries(ids, st.tuples(times, st.sampled_from(list(Status))),
                               max_size=40),
       limit=st.integers(1, 7), statuses=st.none() | st.frozensets(st.sampled_from(list(Status)),
                                                                  min_size=1))
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_pages_walk_the_sorted_order_exactly_once(
    records: dict[str, tuple[float, Status]], limit: int, statuses: frozenset[Status] | None,
) -> None:
    """Following cursors yields every matching record once, by (enqueued_at, id) descending."""
    store = MemoryStore()
    made = [_record(id, at, status) for id, (at, status) in records.items()]
    store.create(made, now=0.0, idempotency_ttl=1.0)
    queries = ReferenceQueries(store)
    flt = RecordFilter(status=statuses)
    seen: list[str] = []
    after = None
    while True:
        page = queries.page(flt, limit=limit, after=after)
        assert len(page) <= limit
        seen += [r.id for r in page]
        if len(page) < limit:
            break
        after = Cursor.after(page[-1])
    expected = sorted((r for r in made if flt.matches(r)), key=newest_first, reverse=True)
    assert seen == [r.id for r in expected]


@given(at=st.floats(allow_nan=False, allow_infinity=False), id=st.text())
def test_cursor_round_trips(at: float, id: str) -> None:
    """A cursor decodes to what was encoded."""
    assert Cursor.decode(Cursor(at, id).encode()) == Cursor(at, id)


@given(text=st.text())
def test_any_text_is_a_cursor_or_a_value_error(text: str) -> None:
    """Garbage cursors raise ValueError (the API's 400), never anything else."""
    with contextlib.suppress(ValueError):
        Cursor.decode(text)


def test_counts_and_buckets_match_direct_counts() -> None:
    """count_by_status and bucketed_counts agree with the store's own count."""
    store = MemoryStore()
    made = [_record(f"r{i}", 1000.0 + i * 7.0, list(Status)[i % 6]) for i in range(60)]
    store.create(made, now=0.0, idempotency_ttl=1.0)
    queries = ReferenceQueries(store)
    counts = queries.count_by_status(RecordFilter(task_name="t"))
    assert counts == {s: store.count(RecordFilter(status=s)) for s in Status}
    buckets = queries.bucketed_counts(RecordFilter(), start=1000.0, end=1420.0, step=60.0)
    assert buckets == [store.count(RecordFilter(since=1000.0 + k * 60, until=1060.0 + k * 60))
                       for k in range(7)]
    failed = queries.bucketed_counts(RecordFilter(status=Status.FAILED, since=1100.0),
                                     start=1000.0, end=1420.0, step=60.0)
    assert sum(failed) == store.count(RecordFilter(status=Status.FAILED, since=1100.0))
    with pytest.raises(ValueError):
        Cursor.decode("WzEsMl0")  # [1,2]: an id that is not a string
