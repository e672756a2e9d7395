"""Random operation sequences give the same observable results on Redis/SQLite as on memory."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

from taskbridge._envelope import Envelope
from taskbridge._errors import ResultNotFound
from taskbridge._record import ErrorInfo, Record
from taskbridge._status import Status
from taskbridge._stores.base import RecordFilter
from taskbridge._stores.memory import MemoryStore
from taskbridge.testing.redis_server import test_redis_url, unique_prefix

from ._support import open_store, record
from .conftest import cleanup_redis

TTL = 5.0
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
    st.tuples(st.sampled_from([None, "k1", "k2"]), st.sampled_from(["a", "b"]),
              st.sampled_from(["q1", "q2"])),
    min_size=1, max_size=3,
)
# Read after every program: each single criterion, with and without retried records.
BATTERY = [
    RecordFilter(include_retried=retried, **criterion)
    for retried in (True, False)
    for criterion in [{}, *({"status": s} for s in Status), {"task_name": "a"}, {"queue": "q2"},
                      {"task_name": "b", "queue": "q1"}]
]


class Comparison(RuleBasedStateMachine):
    """Each rule runs one operation on the memory store and on the store under test."""

    kind = "sqlite"

    def __init__(self) -> None:
        super().__init__()
        self.scratch = tempfile.TemporaryDirectory()
        if self.kind == "redis":
            self.spec: tuple[str, ...] = ("redis", test_redis_url(), unique_prefix("diff"))
        else:
            self.spec = ("sqlite", str(Path(self.scratch.name) / "state.db"))
        self.reference = MemoryStore()
        self.tested = open_store(self.spec)
        self.now = 1.0
        self.created = 0

    def same(self, operation: Callable[[Any], Any]) -> None:
        def observe(store: Any) -> Any:
            try:
                return operation(store)
            except ResultNotFound:
                return ResultNotFound

        assert observe(self.tested) == observe(self.reference)

    def pick(self, n: int, *statuses: Status) -> str:
        """The n-th record (modulo) among those in ``statuses`` (any when none are given)."""
        found = sorted(
            r.id for r in self.reference.list(RecordFilter(status=statuses or None), limit=999)
        )
        return "missing" if n < 0 or not found else found[n % len(found)]

    def attempt(self, id: str, offset: int) -> int:
        [current] = self.reference.get_many([id])
        return (current.attempts if current else 0) + offset

    @rule(batch=new_records)
    def create(self, batch: list[tuple[str | None, str, str]]) -> None:
        records: list[Record] = []
        for key, task, queue in batch:
            # Distinct enqueued_at values make the newest-first order unambiguous.
            n, self.created = self.created, self.created + 1
            records.append(record(f"r{n}", at=float(n), key=key, task=task, queue=queue))
        self.same(lambda s: s.create(records, now=self.now, idempotency_ttl=TTL))

    @rule(n=picks)
    def start(self, n: int) -> None:
        id = self.pick(n, Status.PENDING, Status.RETRYING)
        self.same(lambda s: s.start(id, self.attempt(id, 1), worker="w", now=self.now))

    @rule(n=picks, status=st.sampled_from([Status.SUCCEEDED, Status.FAILED, Status.FAILED,
                                           Status.CANCELED, Status.RETRYING]))
    def finish(self, n: int, status: Status) -> None:
        id = self.pick(n, Status.RUNNING)
        self.same(lambda s: s.finish(
            id, self.attempt(id, 0), status, now=self.now, idempotency_ttl=TTL, value=[self.now],
            error=ERROR, run_at=self.now + 1, envelope=ENVELOPE,
        ))

    @rule(n=picks, attempt=attempts, operation=st.sampled_from(
        ["start", "finish", "heartbeat", "live heartbeat", "progress"]
    ))
    def guarded(self, n: int, attempt: int, operation: str) -> None:
        """Any record, any attempt: mostly refusals, which must agree too."""
        id = self.pick(n)
        if operation == "start":
            self.same(lambda s: s.start(id, attempt, worker="w", now=self.now))
        elif operation == "finish":
            self.same(lambda s: s.finish(id, attempt, Status.SUCCEEDED, now=self.now,
                                         idempotency_ttl=TTL, value=1))
        elif operation == "heartbeat":
            self.same(lambda s: s.heartbeat(id, attempt, now=self.now))
        elif operation == "live heartbeat":
            id = self.pick(n, Status.RUNNING)
            self.same(lambda s: s.heartbeat(id, self.attempt(id, 0), now=self.now))
        else:
            self.same(lambda s: s.set_progress(id, attempt * 10, "m"))

    @rule(n=picks)
    def cancel(self, n: int) -> None:
        id = self.pick(n)
        self.same(lambda s: s.cancel(id, now=self.now))

    @rule(n=picks)
    def mark_retried(self, n: int) -> None:
        id = self.pick(n, Status.FAILED)
        self.same(lambda s: s.mark_retried(id, f"again-{id}"))

    @rule(picked=st.lists(picks, max_size=2))
    def discard(self, picked: list[int]) -> None:
        ids = [self.pick(n) for n in picked]
        self.same(lambda s: s.discard(ids))

    @rule(ttl=st.sampled_from([0.5, 3.0, 100.0]))
    def purge(self, ttl: float) -> None:
        self.same(lambda s: s.purge(now=self.now, result_ttl=ttl))

    @rule(flt=filters, limit=st.integers(0, 5), offset=st.integers(0, 3), n=picks,
          before=st.floats(0.0, 30.0))
    def observe(self, flt: RecordFilter, limit: int, offset: int, n: int, before: float) -> None:
        """Random and fixed queries, stale records and one record by id."""
        id = self.pick(n)
        self.same(lambda s: (
            s.list(flt, limit=limit, offset=offset), s.count(flt),
            sorted(r.id for r in s.stale(before=before, limit=999)), s.get_many([id]),
        ))
        self.same(lambda s: s.get(id))
        self.battery()

    @rule(step=st.floats(0.0, 3.0).map(lambda x: round(x, 2)))
    def clock(self, step: float) -> None:
        self.now = round(self.now + step, 2)

    def battery(self) -> None:
        for flt in BATTERY:
            self.same(lambda s, flt=flt: (s.count(flt), s.list(flt, limit=999)))

    def teardown(self) -> None:
        try:
            self.battery()
        finally:
            self.tested.close()
            if self.kind == "redis":
                cleanup_redis(self.spec[1], self.spec[2])
            self.scratch.cleanup()


SETTINGS = settings(
    max_examples=40, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.mark.parametrize("kind", ["redis", "sqlite"])
def test_store_matches_memory_store(kind: str) -> None:
    """Every operation's result, and the final contents, match the memory store's."""
    machine = type(f"{kind.title()}Comparison", (Comparison,), {"kind": kind})
    run_state_machine_as_test(machine, settings=SETTINGS)
