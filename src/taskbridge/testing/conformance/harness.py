"""The conformance harness: one isolated bridge per backend URL, and the workers that serve it.

In-process backends (``memory://``) are driven from the test process; every other backend gets
real ``taskbridge worker`` processes, started, stopped and killed here.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest

from taskbridge._bridge import Bridge
from taskbridge._config import ENV_HEARTBEAT, BackendURL, env_variable
from taskbridge._result import Result
from taskbridge._status import Status
from taskbridge._task import Task
from taskbridge.testing.cleanup import delete_url_namespace
from taskbridge.testing.polling import wait_for
from taskbridge.testing.recorder import ENV_HOOK_LOG, hooks_of, read_hook_log
from taskbridge.testing.redis_server import unique_prefix
from taskbridge.testing.workers import WorkerProcess, Workers

T = TypeVar("T")

TASKS_MODULE = "taskbridge.testing.conformance.tasks"
#: The URLs to test when no ``--taskbridge-url`` is given (comma-separated).
ENV_URLS = "TASKBRIDGE_CONFORMANCE_URLS"
#: Heartbeat for the suite's workers and bridges, so lost workers are noticed within seconds.
HEARTBEAT = 0.5
#: The suite's workers send a waiting record whose message was lost this many seconds past due.
UNSENT_GRACE = 2.0
#: Queues the session's workers consume.
SERVED_QUEUES = ("default", "conformance-other")
#: Consumed by no session worker: tasks sent here wait until a test starts a worker for it.
PARKED = "conformance-parked"
#: For tests that run their own one-at-a-time worker (priority order, crash recovery).
SOLO = "conformance-solo"
_DEFAULT_PORTS = {"redis": 6379, "rediss": 6380, "amqp": 5672, "amqps": 5671, "postgresql": 5432}


class Harness:
    """A backend under test: its bridge, capabilities, workers and the helpers tests poll with."""

    def __init__(self, url: str, workdir: Path) -> None:
        self.given_url = url
        self.workdir = workdir
        self.hook_log = workdir / "hooks.jsonl"
        self.url = isolate(url, workdir)
        self.parsed = BackendURL.parse(self.url)
        self.bridge = Bridge(self.url, heartbeat_interval=HEARTBEAT)
        self.capabilities = self.bridge.capabilities
        self.in_process: bool = bool(self.capabilities.in_process)
        self.workers = Workers(
            workdir, url=self.url, imports=[TASKS_MODULE],
            env={ENV_HEARTBEAT: str(HEARTBEAT), env_variable("unsent_grace"): str(UNSENT_GRACE),
                 ENV_HOOK_LOG: str(self.hook_log)},
        )
        self._other: Bridge | None = None
        self._background = False

    def __repr__(self) -> str:
        return f"<Harness {self.parsed.redacted()}>"

    @property
    def engine(self) -> str:
        return self.parsed.engine

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the session's workers (none for in-process backends)."""
        if not self.in_process:
            self.start_worker(SERVED_QUEUES, concurrency=2)

    def close(self) -> None:
        self.workers.stop_all()
        for bridge in (self._other, self.bridge):
            if bridge is not None:
                with contextlib.suppress(Exception):
                    bridge.close()
        delete_url_namespace(self.url, [*SERVED_QUEUES, PARKED, SOLO])

    def other_bridge(self) -> Bridge:
        """A second bridge on the same URL, as another process would have one.

        In-process backends keep their state inside one bridge, so there it is the same one.
        """
        if self.in_process:
            return self.bridge
        if self._other is None:
            self._other = Bridge(self.url, heartbeat_interval=HEARTBEAT)
        return self._other

    # -- workers -------------------------------------------------------------------------------

    def start_worker(self, queues: Sequence[str], concurrency: int = 1) -> WorkerProcess:
        """Start a real worker process and wait until it announces itself in the store."""
        if self.in_process:
            raise RuntimeError(f"{self.engine} runs tasks in-process; it has no worker processes")
        return self.workers.start(queues=queues, concurrency=concurrency, bridge=self.bridge)

    def kill_worker(self, worker: WorkerProcess) -> None:
        """SIGKILL a worker and its children, as an OOM killer would."""
        self.workers.kill(worker)

    def stop_worker(self, worker: WorkerProcess) -> None:
        self.workers.stop(worker)

    @contextlib.contextmanager
    def serving(self, queues: Sequence[str], concurrency: int = 1) -> Iterator[None]:
        """Run a worker for ``queues`` during the block; in-process backends are driven by the
        waits instead."""
        if self.in_process:
            yield
            return
        worker = self.start_worker(queues, concurrency)
        try:
            yield
        finally:
            self.stop_worker(worker)

    # -- parked tasks --------------------------------------------------------------------------

    def park(self, task: Task[Any, Any]) -> Task[Any, Any]:
        """``task`` set to wait, unstarted, until ``release_parked``."""
        if self.in_process:
            return task.using(delay=3600)
        return task.using(queue=PARKED)

    @contextlib.contextmanager
    def release_parked(self) -> Iterator[None]:
        """Let everything parked run during the block."""
        if self.in_process:
            run = getattr(self.bridge.backend, "run_pending")  # noqa: B009 - in-process backends
            run(self.bridge, ignore_delays=True)
            yield
            return
        with self.serving([PARKED]):
            yield

    # -- in-process driving ----------------------------------------------------------------------

    def drive(self) -> None:
        """Run what is due, for in-process backends (unless a background driver does it)."""
        if self.in_process and not self._background:
            self.bridge.drive()

    @contextlib.contextmanager
    def background(self) -> Iterator[None]:
        """For in-process backends: run tasks on another thread during the block, so the test
        can watch and cancel a task while it runs. Process backends need nothing."""
        if not self.in_process:
            yield
            return
        stop = threading.Event()

        def loop() -> None:
            while not stop.is_set():
                self.bridge.drive()
                stop.wait(0.01)

        thread = threading.Thread(target=loop, name="conformance-driver", daemon=True)
        self._background = True
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(30)
            self._background = False

    # -- polling -------------------------------------------------------------------------------

    def wait_for(self, condition: Callable[[], T], *, timeout: float = 20.0, what: str) -> T:
        """Poll ``condition`` (driving in-process backends) until it returns something truthy;
        fail the test after ``timeout``."""
        try:
            return wait_for(condition, timeout, what, before_each=self.drive)
        except AssertionError as exc:
            pytest.fail(f"{self.engine}: {exc}")

    def wait_status(
        self, result: Result, *statuses: Status, attempts: int | None = None, timeout: float = 20.0
    ) -> Result:
        """Poll until ``result`` is in one of ``statuses`` (with that many attempts, if given)."""
        def reached() -> bool:
            result.refresh()
            return result.status in statuses and (attempts is None or result.attempts == attempts)

        names = "/".join(s.value for s in statuses)
        self.wait_for(reached, timeout=timeout,
                      what=f"{result.task_name} [{result.id}] to be {names}"
                           + (f" after {attempts} attempt(s)" if attempts else "")
                           + f" (last seen {result.status.value}, {result.attempts} attempt(s))")
        return result

    def finish(self, result: Result, timeout: float = 30.0) -> Result:
        """Poll until ``result`` is final; returns it refreshed."""
        return self.wait_status(result, Status.SUCCEEDED, Status.FAILED, Status.CANCELED,
                                timeout=timeout)

    def hook_events(self, id: str, recorded: Sequence[tuple[str, str, str]]) -> list[str]:
        """Hooks fired for execution ``id``: those recorded in this process plus those the
        worker processes logged."""
        events = list(recorded) + ([] if self.in_process else read_hook_log(self.hook_log))
        return hooks_of(id, events)

    # -- unreachable servers ---------------------------------------------------------------------

    def unreachable_url(self) -> str | None:
        """The same engine pointed at a server that is not there (``None`` for in-process)."""
        if self.in_process:
            return None
        scheme, rest = self.url.split("://", 1)
        if self.parsed.transport == "sqlite":
            blocker = self.workdir / "not-a-directory"
            blocker.write_text("a file where the database's folder should be\n")
            query = rest.partition("?")[2]
            return f"{scheme}:///{blocker}/tasks.db" + (f"?{query}" if query else "")
        parts = urlsplit(f"x://{rest}")
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = (f"{userinfo}@" if userinfo else "") + f"127.0.0.1:{closed_port()}"
        return f"{scheme}://" + parts._replace(netloc=netloc).geturl()[len("x://"):]


def closed_port() -> int:
    """A local TCP port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def isolate(url: str, workdir: Path) -> str:
    """The URL made private to this run: a fresh SQLite file, or a unique ``namespace``."""
    parsed = BackendURL.parse(url)
    if parsed.engine == "memory":
        return url
    scheme, rest = url.split("://", 1)
    if parsed.transport == "sqlite":
        query = rest.partition("?")[2]
        return f"{scheme}:///{workdir / 'tasks.db'}" + (f"?{query}" if query else "")
    if "namespace" in parsed.options:
        return url
    return url + ("&" if "?" in url else "?") + f"namespace={unique_prefix('conformance')}"


def unreachable_reason(url: str) -> str | None:
    """Why the servers ``url`` names cannot be reached, or ``None`` when they answer."""
    parsed = BackendURL.parse(url)
    targets = [parsed.transport_url, *(v for v in parsed.options.values() if "://" in v)]
    for target in targets:
        parts = urlsplit(target)
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
        if not parts.hostname or port is None:
            continue
        try:
            socket.create_connection((parts.hostname, port), timeout=2).close()
        except OSError as exc:
            return (f"cannot reach {parts.hostname}:{port} for {parsed.redacted()} ({exc}); "
                    "start that server or pass another --taskbridge-url")
    return None
