"""Random operation sequences: every store answer and every resulting record and claim is what
the reference transitions (``taskbridge.plugin.transitions``) compute from the record as stored.

This is how the Redis store's Lua scripts, one per state change, are held to the same meaning
as the stores built on ``TransactionalStore``.
"""

from __future__ import annotations

import builtins
import tempfile
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, ClassVar

import attrs
import pytest

from taskbridge import Envelope, ErrorInfo, Record, RecordFilter, ResultNotFound, Status
from taskbridge.plugin import StateStore, open_store, transitions
from taskbridge.testing.store_contract.records import record
from taskbridge.testing.store_contract.targets import StoreTarget

pytest.importorskip("hypothesis", reason="the reference test draws operations with hypothesis")

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    rule,
    run_state_machine_as_test,
)

TTL = 5.0
KEYS = ("k1", "k2")
LEASES = ("l1", "l2")
ERROR = ErrorInfo("E", "m")
ENVELOPE = Envelope(id="x", task_name="a", attempt=2, enqueued_at=1.0)
#: An index into the candidate records (resolved when run), or -1 for an unknown id.
picks = st.integers(-1, 40)
attempts = st.integers(0, 3)
maybe_time = st.none() | st.floats(0.0, 30.0).map(lambda x: round(x, 1))
filters = st.builds(
    RecordFilter,
    status=st.none() | st.sets(st.sampled_from(list(Status)), max_size=3),
    task_name=st.sampled_from([None, "a", "b"]),
    queue=st.sampled_from([None, "q1", "q2"]),
    since=maybe_time,
    until=maybe_time,
    include_retried=st.booleans(),
)
new_records = st.lists(
    st.tuples(st.sampled_from([None, *KEYS]), st.sampled_from(["a", "b"]),
              st.sampled_from(["q1", "q2"])),
    min_size=1, max_size=3,
)
# Read after every program: each single criterion, with and without retried records.
CRITERIA: list[dict[str, Any]] = [
    {}, *({"status": s} for s in Status), {"task_name": "a"}, {"queue": "q2"},
    {"task_name": "b", "queue": "q1"},
]
BATTERY = [
    RecordFilter(include_retried=retried, **criterion)
    for retried in (True, False)
    for criterion in CRITERIA
]


class Reference:
    """The protocol's meaning, from the transitions alone: records and claims in dicts."""

    def __init__(self) -> None:
        self.records: dict[str, Record] = {}
        self.claims: dict[str, str] = {}
        self.leases: dict[str, transitions.Lease] = {}

    def create(self, records: Sequence[Record], now: float) -> list[Record]:
        out = []
        for asked in records:
            key = asked.idempotency_key
            owner = self.records.get(self.claims.get(key, "")) if key else None
            if transitions.holds_claim(owner, now=now, idempotency_ttl=TTL):
                assert owner is not None
                out.append(owner)
                continue
            if key:
                self.claims[key] = asked.id
            self.records[asked.id] = asked
            out.append(asked)
        return out

    def apply(self, change: transitions.Change | None) -> Record | None:
        if change is None:
            return None
        self.records[change.record.id] = change.record
        if change.releases_claim:
            self.release(change.record)
        return change.record

    def release(self, record: Record) -> None:
        key = record.idempotency_key
        if key and self.claims.get(key) == record.id:
            del self.claims[key]

    def delete(self, record: Record) -> None:
        del self.records[record.id]
        self.release(record)

    def select(self, flt: RecordFilter) -> builtins.list[Record]:
        found = [r for r in self.records.values() if flt.matches(r)]
        return sorted(found, key=lambda r: r.enqueued_at, reverse=True)


class Comparison(RuleBasedStateMachine):
    """Each rule runs one operation on the store and on the reference, and compares."""

    #: Set on the subclass each test runs: the store under test and a scratch directory.
    target: ClassVar[StoreTarget]
    scratch: ClassVar[Path]

    def __init__(self) -> None:
        super().__init__()
        self.exits = ExitStack()
        folder = Path(self.exits.enter_context(tempfile.TemporaryDirectory(dir=self.scratch)))
        url = self.exits.enter_context(self.target.isolated(folder))
        self.store: StateStore = open_store(url)
        self.exits.callback(self.store.close)
        self.reference = Reference()
        self.now = 1.0
        self.created = 0

    def pick(self, n: int, *statuses: Status) -> str:
        """The n-th record (modulo) among those in ``statuses`` (any when none are given)."""
        found = sorted(r.id for r in self.reference.records.values()
                       if not statuses or r.status in statuses)
        return "missing" if n < 0 or not found else found[n % len(found)]

    def before(self, id: str) -> Record | None:
        """The record as stored, which must be the reference's, before an operation on it."""
        stored = self.reference.records.get(id)
        assert self.store.get_many([id]) == [stored]
        return stored

    def after(self, id: str, answer: Any, expected: Any) -> None:
        """The store answered as the reference did, and now holds the same record and claim."""
        assert answer == expected
        assert self.store.get_many([id]) == [self.reference.records.get(id)]
        self.claims()

    def claims(self) -> None:
        for key in KEYS:
            assert self.store.claim_holder(key) == self.reference.claims.get(key), key

    def leases(self) -> None:
        for key in LEASES:
            held = self.reference.leases.get(key)
            live = held.holder if held is not None and held.expires_at > self.now else None
            assert self.store.lease_holder(key, now=self.now) == live, key

    def attempt(self, id: str, offset: int) -> int:
        current = self.reference.records.get(id)
        return (current.attempts if current else 0) + offset

    @rule(batch=new_records)
    def create(self, batch: list[tuple[str | None, str, str]]) -> None:
        records: list[Record] = []
        for key, task, queue in batch:
            # Distinct enqueued_at values make the newest-first order unambiguous.
            n, self.created = self.created, self.created + 1
            records.append(record(f"r{n}", at=float(n), key=key, task=task, queue=queue))
        answer = self.store.create(records, now=self.now, idempotency_ttl=TTL)
        assert answer == self.reference.create(records, self.now)
        self.claims()

    def start_attempt(self, id: str, attempt: int) -> None:
        old = self.before(id)
        change = transitions.start(old, attempt, worker="w", now=self.now)
        answer = self.store.start(id, attempt, worker="w", now=self.now)
        self.after(id, answer, self.reference.apply(change))

    def finish_attempt(
        self, id: str, attempt: int, status: Status, envelope: str = "other"
    ) -> None:
        old = self.before(id)
        sent: Envelope | None = ENVELOPE
        if envelope == "own" and old is not None:
            # The record's own call: stores keep its arguments once.
            sent = attrs.evolve(ENVELOPE, args=old.args, kwargs=old.kwargs)
        elif envelope == "none":
            sent = None
        usage: dict[str, Any] = {"cpu_time": self.now / 8, "peak_memory": int(self.now * 1000)}
        change = transitions.finish(old, attempt, status, now=self.now, value=[self.now],
                                    error=ERROR, run_at=self.now + 1, envelope=sent, **usage)
        answer = self.store.finish(id, attempt, status, now=self.now, idempotency_ttl=TTL,
                                   value=[self.now], error=ERROR, run_at=self.now + 1,
                                   envelope=sent, **usage)
        self.after(id, answer, self.reference.apply(change))

    def beat(self, id: str, attempt: int) -> None:
        old = self.before(id)
        beat = self.reference.apply(transitions.heartbeat(old, attempt, now=self.now))
        answer = self.store.heartbeat(id, attempt, now=self.now)
        self.after(id, answer, None if beat is None else beat.cancel_requested)

    @rule(n=picks)
    def start(self, n: int) -> None:
        id = self.pick(n, Status.PENDING, Status.RETRYING)
        self.start_attempt(id, self.attempt(id, 1))

    @rule(n=picks, status=st.sampled_from([Status.SUCCEEDED, Status.FAILED, Status.FAILED,
                                           Status.CANCELED, Status.RETRYING]),
          envelope=st.sampled_from(["other", "own", "none"]))
    def finish(self, n: int, status: Status, envelope: str) -> None:
        id = self.pick(n, Status.RUNNING)
        self.finish_attempt(id, self.attempt(id, 0), status, envelope)

    @rule(n=picks, attempt=attempts, operation=st.sampled_from(
        ["start", "finish", "heartbeat", "live heartbeat", "progress"]
    ))
    def guarded(self, n: int, attempt: int, operation: str) -> None:
        """Any record, any attempt: mostly refusals, which must agree too."""
        id = self.pick(n)
        if operation == "start":
            self.start_attempt(id, attempt)
        elif operation == "finish":
            self.finish_attempt(id, attempt, Status.SUCCEEDED)
        elif operation == "heartbeat":
            self.beat(id, attempt)
        elif operation == "live heartbeat":
            id = self.pick(n, Status.RUNNING)
            self.beat(id, self.attempt(id, 0))
        else:
            old = self.before(id)
            self.reference.apply(transitions.set_progress(old, attempt * 10, "m", now=self.now))
            self.store.set_progress(id, attempt * 10, "m", now=self.now)
            self.after(id, None, None)

    @rule(n=picks)
    def cancel(self, n: int) -> None:
        id = self.pick(n)
        old = self.before(id)
        expected: Any = ResultNotFound
        if old is not None:
            expected = self.reference.apply(transitions.cancel(old, now=self.now))
        self.after(id, _answer(lambda: self.store.cancel(id, now=self.now)), expected)

    @rule(n=picks)
    def mark_retried(self, n: int) -> None:
        id = self.pick(n, Status.FAILED)
        old = self.before(id)
        expected = self.reference.apply(transitions.mark_retried(old, f"again-{id}"))
        self.after(id, self.store.mark_retried(id, f"again-{id}"), expected)

    @rule(n=picks)
    def dismiss(self, n: int) -> None:
        id = self.pick(n, Status.FAILED)
        old = self.before(id)
        expected = self.reference.apply(transitions.dismiss(old, now=self.now))
        self.after(id, self.store.dismiss(id, now=self.now), expected)

    @rule(key=st.sampled_from(LEASES), holder=st.sampled_from(["h1", "h2"]),
          ttl=st.sampled_from([0.5, 3.0]), release=st.booleans())
    def lease(self, key: str, holder: str, ttl: float, release: bool) -> None:
        held = self.reference.leases.get(key)
        if release:
            if held is not None and held.holder == holder:
                del self.reference.leases[key]
            self.store.release_lease(key, holder)
        else:
            taken = transitions.take_lease(held, holder, now=self.now, ttl=ttl)
            if taken is not None:
                self.reference.leases[key] = taken
            assert self.store.lease(key, holder, now=self.now, ttl=ttl) is (taken is not None)
        self.leases()

    @rule(picked=st.lists(picks, max_size=2))
    def discard(self, picked: list[int]) -> None:
        ids = [self.pick(n) for n in picked]
        for id in dict.fromkeys(ids):
            old = self.before(id)
            if transitions.can_discard(old):
                assert old is not None
                self.reference.delete(old)
        self.store.discard(ids)
        for id in ids:
            self.after(id, None, None)

    @rule(ttl=st.sampled_from([0.5, 3.0, 100.0]), failed_ttl=st.sampled_from([None, 0.5, 8.0]),
          limit=st.sampled_from([None, None, 1, 2]))
    def purge(self, ttl: float, failed_ttl: float | None, limit: int | None) -> None:
        """Which expired records a limited purge takes is the store's choice (oldest first
        within a status); how many is not."""
        due = {r.id for r in self.reference.records.values()
               if transitions.expired(r, now=self.now, result_ttl=ttl, failed_ttl=failed_ttl)}
        count = self.store.purge(now=self.now, result_ttl=ttl, failed_ttl=failed_ttl,
                                 limit=limit)
        assert count == (len(due) if limit is None else min(limit, len(due)))
        left = {id for id, r in zip(self.reference.records, self.store.get_many(
            list(self.reference.records)), strict=True) if r is not None}
        gone = set(self.reference.records) - left
        assert gone <= due and len(gone) == count
        for id in gone:
            self.reference.delete(self.reference.records[id])
        self.claims()

    @rule(flt=filters, limit=st.integers(0, 5), offset=st.integers(0, 3),
          before=st.floats(0.0, 30.0))
    def observe(self, flt: RecordFilter, limit: int, offset: int, before: float) -> None:
        """Random and fixed queries, and stale records."""
        expected = self.reference.select(flt)
        assert self.store.list(flt, limit=limit, offset=offset) == expected[
            offset : offset + limit]
        assert self.store.count(flt) == len(expected)
        stale = sorted(r.id for r in self.reference.records.values()
                       if transitions.is_stale(r, before=before))
        assert sorted(r.id for r in self.store.stale(before=before, limit=999)) == stale
        self.battery()

    @rule(step=st.floats(0.0, 3.0).map(lambda x: round(x, 2)))
    def clock(self, step: float) -> None:
        self.now = round(self.now + step, 2)

    def battery(self) -> None:
        for flt in BATTERY:
            expected = self.reference.select(flt)
            assert self.store.count(flt) == len(expected)
            assert self.store.list(flt, limit=999) == expected

    def teardown(self) -> None:
        try:
            self.battery()
            self.claims()
            self.leases()
        finally:
            self.exits.close()


def _answer(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except ResultNotFound:
        return ResultNotFound


SETTINGS = settings(
    max_examples=40, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def test_store_matches_the_reference_transitions(store_target: StoreTarget, tmp_path: Path) -> None:
    """Every operation's answer, record and claim, and every query, match the reference."""
    with store_target.isolated(tmp_path):
        pass  # skips here, with the reason, when the store cannot be had
    machine = type(f"{store_target.label}Comparison", (Comparison,),
                   {"target": store_target, "scratch": tmp_path})
    run_state_machine_as_test(machine, settings=SETTINGS)
