"""The Procrastinate backend against a real PostgreSQL and real worker processes: one
transaction for record, claim and job row; Procrastinate's own table showing each job by task
name with its outcome; the URL, queue names and schema."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from taskbridge_procrastinate import _jobs

from taskbridge import Bridge, ConfigurationError, EnqueueError, RecordFilter, Status, task
from taskbridge.testing.conformance.tasks import add, cooperative, fail, flaky, hang, sleep
from taskbridge.testing.polling import wait_for
from taskbridge.testing.workers import Workers

Rows = Callable[..., list[tuple[Any, ...]]]


@task(name="procrastinate_test.refused")
def refused() -> None:
    """Never runs: the test database refuses its job row."""


def jobs_of(sql: Rows, record_id: str) -> list[tuple[Any, ...]]:
    """``(task_name, queue_name, status, priority, scheduled_at)`` of an execution's jobs."""
    return sql("SELECT task_name, queue_name, status::text, priority, scheduled_at"
               " FROM procrastinate_jobs WHERE args->>'id' = %s ORDER BY id", record_id)


def statuses(sql: Rows, record_id: str) -> list[str]:
    return [row[2] for row in jobs_of(sql, record_id)]


def test_enqueue_writes_the_job_row_by_task_name(bridge: Bridge, sql: Rows) -> None:
    """An enqueue leaves a ``todo`` job named after the task, on the namespace's queue, with
    the task's priority and, for a delay, its ``scheduled_at``."""
    namespace = bridge.url.namespace
    now = time.time()
    soon = add.using(bridge=bridge, priority=7).enqueue(1, 2)
    later = add.using(bridge=bridge, queue="other", delay=60).enqueue(3, 4)
    [(name, queue, status, priority, scheduled)] = jobs_of(sql, soon.id)
    assert (name, queue, status, priority, scheduled) == (
        "conformance.add", _jobs.queue_name(namespace, "default"), "todo", 7, None)
    [(name, queue, status, priority, scheduled)] = jobs_of(sql, later.id)
    assert (name, queue, status, priority) == (
        "conformance.add", _jobs.queue_name(namespace, "other"), "todo", 0)
    assert now + 59 < scheduled.timestamp() < time.time() + 61
    assert bridge.backend.queue_depth("default") == 1
    assert bridge.backend.queue_depth("other") == 0  # delayed jobs are not waiting yet


def test_a_refused_job_row_rolls_back_the_record_and_its_claim(
    bridge: Bridge, sql: Rows
) -> None:
    """When the database refuses the job row, the record and its idempotency claim are not
    written either: one transaction."""
    bridge.backend.jobs.ensure_schema()  # type: ignore[attr-defined]
    constraint = f"tbtest_refuse_{uuid.uuid4().hex[:8]}"
    sql(f"ALTER TABLE procrastinate_jobs ADD CONSTRAINT {constraint}"
        " CHECK (task_name <> 'procrastinate_test.refused')")
    try:
        with pytest.raises(EnqueueError, match=constraint):
            refused.using(bridge=bridge, idempotency_key="refused-once").enqueue()
    finally:
        sql(f"ALTER TABLE procrastinate_jobs DROP CONSTRAINT {constraint}")
    assert bridge.store.count(RecordFilter(task_name="procrastinate_test.refused")) == 0
    assert bridge.store.claim_holder("refused-once") is None
    again = refused.using(bridge=bridge, idempotency_key="refused-once").enqueue()
    assert not again.deduplicated and statuses(sql, again.id) == ["todo"]


def test_records_live_in_the_same_database(bridge: Bridge, sql: Rows) -> None:
    """Without ?store=, records are in the PostgreSQL store's schema named after the
    namespace, in the jobs' database."""
    result = add.using(bridge=bridge).enqueue(1, 1)
    schema = bridge.url.namespace
    assert sql(f'SELECT count(*) FROM "{schema}".records WHERE id = %s', result.id) == [(1,)]


@pytest.mark.slow
def test_job_rows_show_each_outcome(bridge: Bridge, workers: Workers, sql: Rows) -> None:
    """Procrastinate's table agrees with taskbridge: succeeded, failed (no Procrastinate
    retry), one failed job per failed attempt then a succeeded one, cancelled before it ran."""
    canceled = add.using(bridge=bridge, delay=30).enqueue(0, 0)
    canceled.cancel()
    workers.start(queues=["default"], concurrency=2)
    ok = add.using(bridge=bridge).enqueue(2, 3)
    failed = fail.using(bridge=bridge).enqueue("once")
    retried = flaky.using(bridge=bridge).enqueue(2)
    assert ok.wait(timeout=20) == 5 and retried.wait(timeout=20) == 2
    wait_for(lambda: failed.refresh().status is Status.FAILED, 20, "the failing task to fail")
    wait_for(lambda: statuses(sql, failed.id) == ["failed"], 10, "its job to be failed")
    wait_for(lambda: statuses(sql, ok.id) == ["succeeded"], 10, "its job to succeed")
    wait_for(lambda: statuses(sql, retried.id) == ["failed", "succeeded"], 10,
             "a failed job, then a succeeded one")
    assert statuses(sql, canceled.id) == ["cancelled"]
    assert jobs_of(sql, failed.id)[0][0] == "conformance.fail"


@pytest.mark.slow
def test_canceling_a_running_task_aborts_its_job(
    bridge: Bridge, workers: Workers, sql: Rows
) -> None:
    """Cancel while running: Procrastinate is asked to abort the job, the task stops at its
    next check and the job ends ``aborted``."""
    workers.start(queues=["default"])
    result = cooperative.using(bridge=bridge).enqueue(20)
    wait_for(lambda: result.refresh().status is Status.RUNNING, 20, "the task to start")
    result.cancel()
    assert sql("SELECT abort_requested FROM procrastinate_jobs WHERE args->>'id' = %s"
               " AND status = 'doing'", result.id) in ([(True,)], [])
    wait_for(lambda: result.refresh().status is Status.CANCELED, 20, "the task to stop")
    wait_for(lambda: statuses(sql, result.id) == ["aborted"], 10, "its job to be aborted")


@pytest.mark.slow
def test_a_killed_workers_job_is_marked_failed(
    bridge: Bridge, workers: Workers, sql: Rows
) -> None:
    """SIGKILL a worker mid-job: the core fails the execution (worker lost) and a live worker
    marks the dead one's ``doing`` job failed, so Procrastinate shows no job running forever."""
    doomed = workers.start(queues=["default"])
    result = hang.using(bridge=bridge).enqueue(60)
    wait_for(lambda: result.refresh().status is Status.RUNNING, 20, "the task to start")
    assert statuses(sql, result.id) == ["doing"]
    workers.kill(doomed)
    workers.start(queues=["default"])
    wait_for(lambda: result.refresh().status is Status.FAILED, 30, "worker-lost failure")
    wait_for(lambda: statuses(sql, result.id) == ["failed"], 30, "the lost job to be failed")


@pytest.mark.slow
def test_concurrency_runs_that_many_jobs_at_once(bridge: Bridge, workers: Workers) -> None:
    """``-c 3``: three jobs run at the same time in one worker process."""
    workers.start(queues=["default"], concurrency=3)
    results = [hang.using(bridge=bridge).enqueue(30) for _ in range(3)]
    wait_for(lambda: all(r.refresh().status is Status.RUNNING for r in results), 20,
             "three jobs running at once")
    assert len({r.attempt_history[-1].worker for r in results}) == 1


@pytest.mark.slow
def test_sigterm_lets_the_running_job_finish(
    bridge: Bridge, workers: Workers, sql: Rows
) -> None:
    """SIGTERM while a job runs: it finishes SUCCEEDED, its row ``succeeded``, and the worker
    exits 0."""
    process = workers.start(queues=["default"])
    result = sleep.using(bridge=bridge).enqueue(1.5)
    wait_for(lambda: result.refresh().status is Status.RUNNING, 20, "the job to start")
    process.send_signal(signal.SIGTERM)
    assert process.wait(15) == 0
    assert result.refresh().status is Status.SUCCEEDED
    assert statuses(sql, result.id) == ["succeeded"]


@pytest.mark.slow
def test_a_malformed_job_fails_its_execution_and_the_worker_goes_on(
    bridge: Bridge, workers: Workers, sql: Rows
) -> None:
    """A job whose envelope text is not an envelope (written by hand in the table) ends its
    execution FAILED and its row ``failed``; a job without one fails alone; the worker keeps
    serving."""
    forged = add.using(bridge=bridge, delay=3600).enqueue(1, 1)
    sql("UPDATE procrastinate_jobs SET scheduled_at = NULL,"
        " args = jsonb_build_object('id', args->>'id', 'envelope', '{\"v\": 1')"
        " WHERE args->>'id' = %s", forged.id)
    stranger = add.using(bridge=bridge, delay=3600).enqueue(2, 2)
    sql("UPDATE procrastinate_jobs SET scheduled_at = NULL, args = '{\"x\": 1}'"
        " WHERE args->>'id' = %s", stranger.id)
    workers.start(queues=["default"])
    wait_for(lambda: forged.refresh().status is Status.FAILED, 20, "the forged job to fail")
    assert forged.error is not None and forged.error.type == "MalformedEnvelope"
    wait_for(lambda: statuses(sql, forged.id) == ["failed"], 10, "its job to be failed")
    queue = _jobs.queue_name(bridge.url.namespace, "default")
    wait_for(lambda: sql("SELECT status::text FROM procrastinate_jobs WHERE queue_name = %s"
                         " AND args = '{\"x\": 1}'", queue) == [("failed",)], 20,
             "the job without an envelope to fail")
    assert add.using(bridge=bridge).enqueue(3, 4).wait(timeout=20) == 7


def test_queue_names_fit_postgresql_notify_channels() -> None:
    """A queue name fits NOTIFY's 63-byte channel with Procrastinate's prefix: short names
    read ``<namespace>.<queue>``, long ones keep their start and a digest, and stay distinct."""
    assert _jobs.queue_name("taskbridge", "emails") == "taskbridge.emails"
    long_a = _jobs.queue_name("tbtest-609e46fa-conformance-65ca0a7f04", "conformance-other")
    long_b = _jobs.queue_name("tbtest-609e46fa-conformance-65ca0a7f05", "conformance-other")
    assert len(long_a) == len(long_b) == _jobs.QUEUE_LIMIT
    assert long_a != long_b and long_a.startswith("tbtest-609e46fa-conformance")


def test_the_url_must_name_postgresql() -> None:
    """Another transport is refused, saying which ones work."""
    with pytest.raises(ConfigurationError, match="runs on PostgreSQL"):
        Bridge("procrastinate+redis://127.0.0.1:6379/0")


def test_racing_processes_create_the_schema_once(new_database_url: str) -> None:
    """Eight connections applying Procrastinate's schema to a new database at once: one
    creates it, the others find it, none fails."""
    barrier, errors = threading.Barrier(8, timeout=30), []

    def apply() -> None:
        with psycopg.connect(new_database_url, autocommit=True) as conn:
            barrier.wait()
            try:
                _jobs.apply_schema(conn)
            except Exception as exc:  # collected: the assertion names it
                errors.append(exc)

    racers = [threading.Thread(target=apply) for _ in range(8)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(60)
    assert errors == []
    with psycopg.connect(new_database_url) as conn:
        assert conn.execute("SELECT count(*) FROM procrastinate_jobs").fetchone() == (0,)


@pytest.mark.slow
def test_a_worker_on_a_new_database_creates_the_schema(
    new_database_url: str, tmp_path: Any
) -> None:
    """A worker started on a database that has never seen Procrastinate creates its schema
    and serves the tasks enqueued afterwards."""
    url = f"procrastinate+{new_database_url}"
    with Workers(tmp_path, url=url, imports=["taskbridge.testing.conformance.tasks"]) as run:
        run.start(queues=["default"])
        bridge = Bridge(url)
        try:
            assert add.using(bridge=bridge).enqueue(20, 22).wait(timeout=20) == 42
        finally:
            bridge.close()
