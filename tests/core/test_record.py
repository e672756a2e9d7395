"""Execution records as JSON documents, and the status model's final states."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from taskbridge import ErrorInfo, Record, Status
from taskbridge._status import FINAL, TRANSITIONS

from .test_envelope import envelopes, finite, json_args, json_kwargs, text
from .test_json import json_values

errors = st.builds(ErrorInfo, type=text, message=text, traceback=text)
records = st.builds(
    Record,
    id=text,
    task_name=text,
    queue=text,
    status=st.sampled_from(Status),
    args=json_args,
    kwargs=json_kwargs,
    priority=st.integers(-100, 100),
    attempts=st.integers(0, 100),
    max_attempts=st.integers(1, 100),
    idempotency_key=st.none() | text,
    enqueued_at=finite,
    run_at=st.none() | finite,
    started_at=st.none() | finite,
    finished_at=st.none() | finite,
    heartbeat_at=st.none() | finite,
    value=json_values,
    error=st.none() | errors,
    progress=st.none() | st.tuples(st.floats(0, 100), text),
    cancel_requested=st.booleans(),
    worker=st.none() | text,
    envelope=st.none() | envelopes,
    first_step=st.none() | text,
    retried_as=st.none() | text,
)


@settings(deadline=None, max_examples=50)
@given(records)
def test_records_round_trip_through_json(record: Record) -> None:
    """A record of JSON values comes back equal from dumps/loads."""
    assert Record.loads(record.dumps()) == record


def test_a_chain_record_from_0_1_0_reads_its_first_step() -> None:
    """A record stored by 0.1.0 names the chain's first step "chain_id"; it loads as first_step."""
    old = {"id": "c", "task_name": "taskbridge.chain", "queue": "q", "status": "PENDING",
           "chain_id": "step-1"}
    assert Record.from_dict(old).first_step == "step-1"
    assert Record.from_dict(old).to_dict()["first_step"] == "step-1"


def test_error_info_from_an_exception() -> None:
    """ErrorInfo names built-in types plainly and others with their module, with a traceback."""
    try:
        raise KeyError("k")
    except KeyError as exc:
        info = ErrorInfo.from_exception(exc)
    assert (info.type, info.message) == ("KeyError", "'k'")
    assert "Traceback" in info.traceback and "KeyError" in info.traceback
    assert ErrorInfo.from_exception(Custom("x")).type == f"{__name__}.Custom"


class Custom(Exception):
    pass


def test_final_states_never_change() -> None:
    """SUCCEEDED, FAILED and CANCELED allow no transition; the others may end in them."""
    assert {status for status in Status if status.is_final} == FINAL
    for status in FINAL:
        assert TRANSITIONS[status] == frozenset()
    assert Status.CANCELED in TRANSITIONS[Status.PENDING] | TRANSITIONS[Status.RETRYING]
    assert not Status.FAILED.holds_idempotency_key and Status.SUCCEEDED.holds_idempotency_key
