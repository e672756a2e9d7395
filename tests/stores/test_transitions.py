"""The reference transitions: pure functions that enforce the allowed-transition table."""

from __future__ import annotations

import itertools

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from taskbridge import InvalidTransition, Record, Status
from taskbridge.plugin import TRANSITIONS, transitions
from taskbridge.testing.store_contract.records import BOOM, record

PAIRS = list(itertools.product(Status, Status))


def at(status: Status, **changes: object) -> Record:
    return attrs.evolve(record("a", key="k"), status=status, **changes)


@pytest.mark.parametrize(("old", "new"), PAIRS, ids=[f"{a.value}-{b.value}" for a, b in PAIRS])
def test_move_allows_exactly_the_table(old: Status, new: Status) -> None:
    """move makes every transition in TRANSITIONS and raises InvalidTransition for any other."""
    if new in TRANSITIONS[old]:
        assert transitions.move(at(old), new).status is new
    else:
        with pytest.raises(InvalidTransition, match=f"{old.value} → {new.value} of record 'a'"):
            transitions.move(at(old), new)


def test_finish_checks_the_status_before_the_record() -> None:
    """finish refuses a status RUNNING cannot become even when the record is not running."""
    with pytest.raises(InvalidTransition, match="RUNNING → PENDING"):
        transitions.finish(None, 1, Status.PENDING, now=1.0)
    with pytest.raises(InvalidTransition, match="RUNNING → RUNNING"):
        transitions.finish(at(Status.SUCCEEDED), 1, Status.RUNNING, now=1.0)


@pytest.mark.parametrize(("status", "releases"), [
    (Status.SUCCEEDED, False), (Status.FAILED, True), (Status.CANCELED, True),
    (Status.RETRYING, False),
])
def test_finish_says_whether_the_claim_goes(status: Status, releases: bool) -> None:
    """Ending FAILED or CANCELED releases the key's claim; SUCCEEDED and RETRYING keep it."""
    running = at(Status.RUNNING, attempts=1)
    change = transitions.finish(running, 1, status, now=5.0, value=(1, 2), error=BOOM)
    assert change is not None and change.releases_claim is releases
    assert change.record.status is status


def test_finish_stores_the_value_as_json() -> None:
    """The value is kept in its JSON form, as every store keeps it: tuples become lists."""
    change = transitions.finish(at(Status.RUNNING, attempts=1), 1, Status.SUCCEEDED, now=5.0,
                                value={"t": (1, 2)})
    assert change is not None and change.record.value == {"t": [1, 2]}


def test_cancel_of_a_final_record_is_the_same_object() -> None:
    """A final record comes back unchanged, as the same object, so stores skip the write."""
    done = at(Status.SUCCEEDED, finished_at=3.0)
    assert transitions.cancel(done, now=9.0) == transitions.Change(done)
    assert transitions.cancel(done, now=9.0).record is done


@pytest.mark.parametrize(("owner", "now", "live"), [
    (None, 0.0, False),
    (at(Status.PENDING), 1e9, True),
    (at(Status.RUNNING), 1e9, True),
    (at(Status.RETRYING), 1e9, True),
    (at(Status.SUCCEEDED, finished_at=10.0), 14.999, True),
    (at(Status.SUCCEEDED, finished_at=10.0), 15.0, False),
    (at(Status.FAILED, finished_at=10.0), 10.0, False),
    (at(Status.CANCELED, finished_at=10.0), 10.0, False),
])
def test_holds_claim(owner: Record | None, now: float, live: bool) -> None:
    """A claim is live while its record waits or runs, or SUCCEEDED within the ttl."""
    assert transitions.holds_claim(owner, now=now, idempotency_ttl=5.0) is live


records = st.builds(
    at,
    st.sampled_from(list(Status)),
    attempts=st.integers(0, 3),
    cancel_requested=st.booleans(),
    retried_as=st.none() | st.just("b"),
)


@given(
    record=records,
    attempt=st.integers(0, 4),
    ending=st.sampled_from(sorted(TRANSITIONS[Status.RUNNING])),
)
def test_every_change_is_an_allowed_transition(
    record: Record, attempt: int, ending: Status
) -> None:
    """Whatever the record, each operation either refuses or makes an allowed transition."""
    changes = [
        transitions.start(record, attempt, worker="w", now=1.0),
        transitions.finish(record, attempt, ending, now=1.0),
        transitions.heartbeat(record, attempt, now=1.0),
        transitions.set_progress(record, 5, "m", now=1.0),
        transitions.cancel(record, now=1.0),
        transitions.mark_retried(record, "c"),
        transitions.dismiss(record, now=1.0),
    ]
    for change in changes:
        if change is not None and change.record.status is not record.status:
            assert change.record.status in TRANSITIONS[record.status]
            assert change.releases_claim is not change.record.status.holds_idempotency_key
