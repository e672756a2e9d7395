"""The chaos soak: many tasks that succeed, fail, retry and fail for good, while worker
processes are SIGKILLed and restarted and Redis restarts; then every record must end final.

CONTRACT §6 ("no task stuck", nothing lost) under the faults production sees. Used by the test
suite (a few hundred tasks, ``tests/faults/test_chaos.py``) and by ``python -m benchmarks.chaos``
(20,000); a third-party backend can soak itself the same way::

    report = soak("mybackend://...", workdir=tmp_path, tasks=300)
    assert report.clean, report.summary()

Every run of a task appends ``<id> <attempt>`` to a file of its worker process, so the report
can count executions that ran more often than their record's attempts say: at-least-once
duplicates after a kill (the message redelivered while the killed attempt had already
started), expected and reported, never hidden.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import attrs

from taskbridge._bridge import Bridge
from taskbridge._config import env_variable
from taskbridge._errors import EnqueueError
from taskbridge._retry import RetryPolicy
from taskbridge._status import Status
from taskbridge._stores.base import RecordFilter
from taskbridge._task import TaskContext, task
from taskbridge.testing.workers import WorkerProcess, Workers

#: Fates a soak task draws (weights): most succeed, some retry once, some fail for good.
FATES = {"ok": 70, "retry-once": 15, "fail": 10, "slow": 5}
ENV_RUNS_DIR = "TASKBRIDGE_CHAOS_RUNS"
#: Worker settings for a soak: crashes noticed within a second, lost messages sent in two.
WORKER_ENV = {env_variable("heartbeat_interval"): "0.5", env_variable("unsent_grace"): "2"}


@task(name="taskbridge.chaos.work", context=True,
      retry=RetryPolicy(max_attempts=3, backoff=0.2, factor=1.0, jitter=False))
def work(context: TaskContext, n: int, fate: str) -> int:
    """One soak task: records that it ran, then does what its ``fate`` says."""
    runs = os.environ.get(ENV_RUNS_DIR)
    if runs:
        line = f"{context.id} {context.attempt}\n".encode()
        fd = os.open(Path(runs) / f"{os.getpid()}.runs", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    if fate == "slow":
        time.sleep(0.5)
    elif fate == "fail":
        raise ValueError(f"task {n} fails for good on purpose")
    elif fate == "retry-once" and context.attempt == 1:
        raise ConnectionError(f"task {n} fails its first attempt on purpose")
    return n


@attrs.frozen
class ChaosReport:
    """What a soak did and what it left."""

    url: str
    enqueued: int
    by_status: dict[str, int]
    #: Records neither final nor gone when the soak gave up waiting: must be zero.
    unsettled: list[str]
    #: Executions whose task ran more often than their record's attempts say.
    duplicates: int
    kills: int
    redis_restarts: int
    enqueue_errors: int
    seconds: float
    settle_seconds: float

    @property
    def final(self) -> int:
        return sum(self.by_status.get(s.value, 0) for s in Status if s.is_final)

    @property
    def clean(self) -> bool:
        """Every enqueued task ended final; nothing waits or runs."""
        return not self.unsettled and self.final == self.enqueued

    def summary(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.by_status.items()))
        stuck = f"; UNSETTLED {len(self.unsettled)}: {self.unsettled[:5]}" if self.unsettled else ""
        return (f"{self.enqueued} enqueued ({self.enqueue_errors} enqueue errors retried), "
                f"{self.kills} SIGKILLs, {self.redis_restarts} Redis restart(s) over "
                f"{self.seconds:.0f} s; settled in {self.settle_seconds:.1f} s: {counts}; "
                f"{self.duplicates} duplicate run(s){stuck}")


def soak(
    url: str,
    *,
    workdir: Path,
    tasks: int = 300,
    workers: int = 2,
    concurrency: int = 2,
    duration: float = 10.0,
    kill_every: float = 2.0,
    restart_redis: Callable[[], None] | None = None,
    min_kills: int = 0,
    settle: float = 60.0,
    seed: int = 0,
    imports: tuple[str, ...] = (),
    pythonpath: tuple[str, ...] = (),
) -> ChaosReport:
    """Enqueue ``tasks`` soak tasks over ``duration`` seconds while ``workers`` worker processes
    run and one of them, chosen at random, is SIGKILLed and replaced every ``kill_every``
    seconds (and on, past ``duration``, until ``min_kills`` kills: a loaded machine starts
    workers slowly); call ``restart_redis`` once half-way (it takes Redis down and brings it back);
    then wait for every record to end final, giving up once none has for ``settle`` seconds
    (so a slow engine's backlog drains, and a stuck record still fails the soak)."""
    rng = random.Random(seed)
    runs = workdir / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    bridge = Bridge(url, heartbeat_interval=0.5)
    fates = rng.choices(list(FATES), weights=list(FATES.values()), k=tasks)
    ids: list[str] = []
    errors = 0
    kills = restarts = 0
    began = time.monotonic()
    env = {**WORKER_ENV, ENV_RUNS_DIR: str(runs)}
    with Workers(workdir, url=url, imports=("taskbridge.testing.chaos", *imports),
                 pythonpath=pythonpath, env=env) as runner:
        alive: list[WorkerProcess] = [
            runner.start(concurrency=concurrency, bridge=bridge) for _ in range(workers)
        ]
        stop = threading.Event()

        def produce() -> None:
            nonlocal errors
            pause = duration * 0.8 / max(tasks, 1)
            submit = work.using(bridge=bridge)
            for n, fate in enumerate(fates):
                while not stop.is_set():
                    try:
                        ids.append(submit.enqueue(n, fate).id)
                        break
                    except EnqueueError:  # Redis is down: only returned enqueues count
                        errors += 1
                        time.sleep(0.1)
                stop.wait(pause)

        producer = threading.Thread(target=produce, name="chaos-producer", daemon=True)
        producer.start()
        restarted = restart_redis is None
        next_kill = time.monotonic() + kill_every
        while (time.monotonic() - began < duration or producer.is_alive()
               or kills < min_kills):
            if not restarted and time.monotonic() - began > duration / 2:
                assert restart_redis is not None
                restart_redis()
                restarted, restarts = True, restarts + 1
            if time.monotonic() >= next_kill and (
                time.monotonic() - began < duration or kills < min_kills
            ):
                victim = alive.pop(rng.randrange(len(alive)))
                runner.kill(victim)
                kills += 1
                alive.append(_start_when_possible(runner, concurrency, bridge))
                next_kill = time.monotonic() + kill_every
            time.sleep(0.05)
        stop.set()
        producer.join(30)
        soaked = time.monotonic() - began
        unsettled = _settle(bridge, ids, settle)
        settled = time.monotonic() - began - soaked
        by_status = Counter(
            r.status.value for r in bridge.store.get_many(ids) if r is not None
        )
    duplicates = _duplicates(bridge, ids, runs)
    bridge.close()
    return ChaosReport(
        url=bridge.url.redacted(), enqueued=len(ids), by_status=dict(by_status),
        unsettled=unsettled, duplicates=duplicates, kills=kills, redis_restarts=restarts,
        enqueue_errors=errors, seconds=soaked, settle_seconds=settled,
    )


def _start_when_possible(runner: Workers, concurrency: int, bridge: Bridge) -> WorkerProcess:
    """A replacement worker; Redis may be restarting, so keep trying for a while."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return runner.start(concurrency=concurrency, bridge=bridge)
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _settle(bridge: Bridge, ids: list[str], patience: float) -> list[str]:
    """Wait until every record is final, as long as the workers make progress: give up once
    no record has become final for ``patience`` seconds. Returns those that are not final."""
    waiting = list(ids)
    progress_at = time.monotonic()
    while waiting and time.monotonic() - progress_at < patience:
        try:
            records = bridge.store.get_many(waiting)
        except Exception:  # the store coming back
            time.sleep(0.5)
            continue
        still = [i for i, r in zip(waiting, records, strict=True)
                 if r is None or not r.status.is_final]
        if len(still) < len(waiting):
            progress_at = time.monotonic()
        waiting = still
        time.sleep(0.2)
    if waiting:
        return [f"{r.id} {r.status.value} attempts={r.attempts}" if r else f"{i} missing"
                for i, r in zip(waiting, bridge.store.get_many(waiting), strict=True)]
    live = bridge.store.count(RecordFilter(status={"PENDING", "RUNNING", "RETRYING"},
                                           task_name=work.name))
    return [f"{live} record(s) of {work.name} still waiting or running"] if live else []


def _duplicates(bridge: Bridge, ids: list[str], runs: Path) -> int:
    """Executions whose task ran more often than their record's attempts."""
    ran: Counter[str] = Counter()
    for path in runs.glob("*.runs"):
        for line in path.read_text().splitlines():
            if line.strip():
                ran[line.split()[0]] += 1
    records = bridge.store.get_many(ids)
    return sum(1 for r in records if r is not None and ran[r.id] > r.attempts)
