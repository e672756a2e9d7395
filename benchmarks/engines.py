"""The benchmarked backends: how to open each one's taskbridge side and native side.

Every ``open`` call gets a fresh ``tag``, and each side isolates itself under it (taskbridge
through the URL's ``namespace=`` or a new SQLite file, the native side through its own queue
name or file), so phases and rounds never see each other's messages.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchmarks.native import (
    CELERY_CONFIG_ENV,
    HUEY_NAME_ENV,
    HUEY_SQLITE_ENV,
    POSTGRESQL_ENV,
    REDIS_ENV,
)
from benchmarks.sides import NativeSide, TaskbridgeSide, check_value, python_module

#: Pools that match across the two sides (the engine's own worker model on both).
CELERY_POOL = "solo"
RQ_WORKER = "fork"
HUEY_WORKER_TYPE = "thread"
#: taskbridge's Huey worker polls an idle SQLite queue from 50 ms, x1.5, up to 250 ms; the
#: native consumer gets the same settings (they are consumer options, ``-d -b -m``).
HUEY_POLLING = ("-d", "0.05", "-b", "1.5", "-m", "0.25")
#: taskbridge's Procrastinate worker runs jobs in threads (Procrastinate's way for synchronous
#: tasks), listens for NOTIFY, polls for due jobs every 0.25 s and for aborts every 1 s; the
#: native worker gets the same intervals (they are options of Procrastinate's worker CLI).
PROCRASTINATE_POOL = "thread"
PROCRASTINATE_POLLING = ("--fetch-job-polling-interval", "0.25",
                         "--abort-job-polling-interval", "1.0")
#: Seconds between the native round trip's looks at its job's status (Procrastinate has no
#: result to wait on, so a caller polls the job manager).
PROCRASTINATE_STATUS_POLL = 0.002


@dataclass(frozen=True)
class Context:
    """What every backend needs to open its sides."""

    redis_url: str
    workdir: Path
    #: True when the harness started this Redis itself, so it may flush it between phases.
    redis_private: bool = False
    #: RQ worker mode on both sides: ``fork`` (a work horse per job, RQ's default) or ``simple``.
    rq_worker: str = RQ_WORKER
    #: The PostgreSQL database the harness created for this run (None: no server answered).
    postgresql_url: str | None = None


class CeleryNative:
    single_api = "task.apply_async(args, queue=…)"
    bulk_api = "group(task.s(i) …).apply_async(queue=…)"
    result_api = "AsyncResult.get() (Redis result backend)"
    worker_desc = f"celery worker -P {CELERY_POOL}"

    def __init__(self, context: Context, tag: str) -> None:
        os.environ[REDIS_ENV] = context.redis_url
        from benchmarks.native import celery_app

        self.task = celery_app.noop
        self.queue = f"native-{tag}"
        self.redis_url = context.redis_url

    def enqueue(self, i: int) -> None:
        self.task.apply_async((i,), queue=self.queue)

    #: Without a result backend subscription: Celery's leanest send, for reference.
    lean_api = "task.apply_async(args, queue=…, ignore_result=True)"

    def enqueue_lean(self, i: int) -> None:
        self.task.apply_async((i,), queue=self.queue, ignore_result=True)

    def enqueue_bulk(self, start: int, count: int) -> None:
        from celery import group

        group(self.task.s(i) for i in range(start, start + count)).apply_async(queue=self.queue)

    def round_trip(self, i: int, timeout: float) -> None:
        value = self.task.apply_async((i,), queue=self.queue).get(timeout=timeout)
        check_value(value, i, "celery")

    def worker_argv(self, concurrency: int) -> list[str]:
        return python_module(
            "celery", "-A", "benchmarks.native.celery_app", "worker", "-Q", self.queue,
            "-P", CELERY_POOL, "-c", str(concurrency), "-l", "WARNING",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        )

    def worker_env(self) -> dict[str, str]:
        env = {REDIS_ENV: self.redis_url}
        if CELERY_CONFIG_ENV in os.environ:
            env[CELERY_CONFIG_ENV] = os.environ[CELERY_CONFIG_ENV]
        return env

    def close(self) -> None:
        return None


class RQNative:
    single_api = "queue.enqueue(func, i)"
    bulk_api = "queue.enqueue_many([Queue.prepare_data(...)])"
    result_api = "job.latest_result(timeout=…)"

    def __init__(self, context: Context, tag: str) -> None:
        from redis import Redis
        from rq import Queue

        from benchmarks.native.rq_jobs import noop

        self.redis_url = context.redis_url
        self.mode = context.rq_worker
        self.worker_desc = f"rq worker ({self.mode})"
        self.connection = Redis.from_url(context.redis_url)
        self.queue = Queue(f"native-{tag}", connection=self.connection)
        self.func = noop

    def enqueue(self, i: int) -> None:
        self.queue.enqueue(self.func, i)

    def enqueue_bulk(self, start: int, count: int) -> None:
        from rq import Queue

        self.queue.enqueue_many(
            [Queue.prepare_data(self.func, (i,)) for i in range(start, start + count)]
        )

    def round_trip(self, i: int, timeout: float) -> None:
        job = self.queue.enqueue(self.func, i)
        result = job.latest_result(timeout=math.ceil(timeout))
        check_value(None if result is None else result.return_value, i, "rq")

    def worker_argv(self, concurrency: int) -> list[str]:
        if concurrency != 1:
            raise ValueError("an RQ worker runs one job at a time; use --concurrency 1 for RQ")
        return python_module("benchmarks.native.rq_jobs", "--url", self.redis_url,
                             "--queue", self.queue.name, "--worker-class", self.mode,
                             # As taskbridge's RQ worker runs it (it honours delays with it).
                             "--with-scheduler")

    def worker_env(self) -> dict[str, str]:
        return {}

    def close(self) -> None:
        self.connection.close()


class HueyNative:
    single_api = "task(i)"
    bulk_api = "task.map(items) (a loop: Huey has no bulk enqueue)"
    result_api = "Result.get(blocking=True)"
    worker_desc = f"huey_consumer -k {HUEY_WORKER_TYPE}"

    def __init__(self, context: Context, tag: str, *, sqlite: bool) -> None:
        from benchmarks.native.huey_app import build

        self.name = f"native-{tag}"
        self.redis_url = context.redis_url
        self.sqlite_path = str(context.workdir / f"{self.name}.db") if sqlite else None
        if self.sqlite_path is not None:
            self.app = build(self.name, sqlite_path=self.sqlite_path)
        else:
            # Huey's fastest native result wait on Redis: BLPOP on a notify key, not polling.
            self.app = build(self.name, redis_url=context.redis_url, notify_result=True)

    def enqueue(self, i: int) -> None:
        self.app.bench_noop(i)

    def enqueue_bulk(self, start: int, count: int) -> None:
        self.app.bench_noop.map(range(start, start + count))

    def round_trip(self, i: int, timeout: float) -> None:
        value = self.app.bench_noop(i).get(blocking=True, timeout=timeout)
        check_value(value, i, "huey")

    def worker_argv(self, concurrency: int) -> list[str]:
        return python_module("huey.bin.huey_consumer", "benchmarks.native.huey_app.huey",
                             "-w", str(concurrency), "-k", HUEY_WORKER_TYPE, *HUEY_POLLING, "-q")

    def worker_env(self) -> dict[str, str]:
        env = {HUEY_NAME_ENV: self.name, REDIS_ENV: self.redis_url}
        if self.sqlite_path is not None:
            env[HUEY_SQLITE_ENV] = self.sqlite_path
        return env

    def close(self) -> None:
        return None


class ProcrastinateNative:
    single_api = "task.configure(queue=…).defer(i=i)"
    bulk_api = "task.configure(queue=…).batch_defer(*kwargs)"
    result_api = ("defer, then job_manager.get_job_status(id) every 2 ms until succeeded "
                  "(Procrastinate keeps no return value)")
    worker_desc = (f"procrastinate worker --queues … --concurrency N "
                   f"(sync task: {PROCRASTINATE_POOL}s)")

    def __init__(self, context: Context, tag: str) -> None:
        from benchmarks.native.procrastinate_app import build

        if context.postgresql_url is None:
            raise RuntimeError("the harness created no PostgreSQL database for Procrastinate")
        self.conninfo = context.postgresql_url
        self.queue = f"native-{tag}"
        self.app = build(self.conninfo).open()
        self.deferrer = self.app.bench_noop.configure(queue=self.queue)

    def enqueue(self, i: int) -> None:
        self.deferrer.defer(i=i)

    def enqueue_bulk(self, start: int, count: int) -> None:
        self.deferrer.batch_defer(*({"i": i} for i in range(start, start + count)))

    def round_trip(self, i: int, timeout: float) -> None:
        from procrastinate.jobs import Status

        job_id = self.deferrer.defer(i=i)
        deadline = time.monotonic() + timeout
        while (status := self.app.job_manager.get_job_status(job_id)) is not Status.SUCCEEDED:
            if status in (Status.FAILED, Status.CANCELLED, Status.ABORTED):
                raise AssertionError(f"procrastinate job {job_id} ended {status.value}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"procrastinate job {job_id} still {status.value} "
                                   f"after {timeout:.0f}s")
            time.sleep(PROCRASTINATE_STATUS_POLL)

    def worker_argv(self, concurrency: int) -> list[str]:
        return python_module("procrastinate", "--app", "benchmarks.native.procrastinate_app.app",
                             "worker", "--queues", self.queue, "--concurrency",
                             str(concurrency), *PROCRASTINATE_POLLING)

    def worker_env(self) -> dict[str, str]:
        return {POSTGRESQL_ENV: self.conninfo}

    def close(self) -> None:
        self.app.close()


@dataclass(frozen=True)
class BackendSpec:
    """One benchmarked backend."""

    key: str
    title: str
    #: The taskbridge plugin distribution and the engine distributions it drives.
    plugin: str
    engines: tuple[str, ...]
    uses_redis: bool
    tb_pool: str | None
    tb_url: Callable[[Context, str], str]
    native: Callable[[Context, str], Any]
    #: taskbridge ÷ native single-enqueue time to beat: one pipelined round trip against the
    #: several a native Redis client makes (Celery, RQ); parity where the native path is lean.
    single_enqueue_target: float = 1.05
    #: Runs on the PostgreSQL database the harness creates for the run.
    uses_postgresql: bool = False

    def installed(self) -> bool:
        try:
            metadata.version(self.plugin)
        except metadata.PackageNotFoundError:
            return False
        return True

    def open(self, context: Context, tag: str) -> tuple[TaskbridgeSide, NativeSide]:
        """Fresh, isolated sides for one phase or round."""
        pool = context.rq_worker if self.key == "rq" else self.tb_pool
        tb = TaskbridgeSide(self.tb_url(context, tag), pool=pool, key_prefix=tag)
        return tb, self.native(context, tag)


def _redis_url(engine: str) -> Callable[[Context, str], str]:
    def url(context: Context, tag: str) -> str:
        parts = urlsplit(context.redis_url)
        return f"{engine}+redis://{parts.netloc}{parts.path}?namespace=tb-{tag}"

    return url


def _procrastinate_url(context: Context, tag: str) -> str:
    if context.postgresql_url is None:
        raise RuntimeError("the harness created no PostgreSQL database for Procrastinate")
    return f"procrastinate+{context.postgresql_url}?namespace=tb-{tag}"


def _sqlite_url(context: Context, tag: str) -> str:
    return f"huey+sqlite:///{context.workdir / f'tb-{tag}.db'}"


BACKENDS: dict[str, BackendSpec] = {
    spec.key: spec
    for spec in (
        BackendSpec("celery", "Celery (Redis broker)", "taskbridge-celery",
                    ("celery", "kombu"), True, CELERY_POOL, _redis_url("celery"), CeleryNative,
                    single_enqueue_target=0.8),
        BackendSpec("rq", "RQ", "taskbridge-rq", ("rq",), True, RQ_WORKER, _redis_url("rq"),
                    RQNative, single_enqueue_target=0.8),
        BackendSpec("huey-redis", "Huey (Redis)", "taskbridge-huey", ("huey",), True,
                    HUEY_WORKER_TYPE, _redis_url("huey"),
                    lambda c, t: HueyNative(c, t, sqlite=False)),
        BackendSpec("huey-sqlite", "Huey (SQLite)", "taskbridge-huey", ("huey",), False,
                    HUEY_WORKER_TYPE, _sqlite_url,
                    lambda c, t: HueyNative(c, t, sqlite=True)),
        BackendSpec("procrastinate", "Procrastinate (PostgreSQL)", "taskbridge-procrastinate",
                    ("procrastinate",), False, PROCRASTINATE_POOL, _procrastinate_url,
                    ProcrastinateNative, uses_postgresql=True),
    )
}


def versions(specs: list[BackendSpec], extra: Iterable[str] = ()) -> dict[str, str]:
    """Installed versions of taskbridge, the plugins, the engines, redis-py and ``extra``
    (the references' distributions)."""
    names = ["taskbridge", "redis"]
    for spec in specs:
        names += [spec.plugin, *spec.engines, *(["psycopg"] if spec.uses_postgresql else [])]
    names += extra
    found: dict[str, str] = {}
    for name in dict.fromkeys(names):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found
