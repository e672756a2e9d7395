"""The worker runner: real ``taskbridge worker`` and ``taskbridge scheduler`` processes for tests.

Each process runs in its own process group (so stopping it stops every process it started), gets
SIGTERM if the test process dies (Linux), and writes its output to a log file. :class:`Workers`
starts them with a test's defaults, waits until each worker has announced itself in the store,
and stops whatever is left when the test ends.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from taskbridge._bridge import Bridge

#: How long a worker may take to start and announce itself in the store.
WORKER_START_TIMEOUT = 60.0
#: How long a worker may take to stop after SIGTERM before its process group is killed.
WORKER_STOP_TIMEOUT = 20.0


class WorkerProcess:
    """One ``taskbridge worker`` (or ``scheduler``) process, in its own process group."""

    def __init__(
        self,
        url: str,
        *,
        log: Path,
        command: str = "worker",
        imports: Sequence[str] = (),
        queues: Sequence[str] = (),
        concurrency: int | None = None,
        pool: str | None = None,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        pythonpath: Sequence[str | os.PathLike[str]] = (),
        cwd: str | os.PathLike[str] | None = None,
    ) -> None:
        self.url = url
        self.command = command
        self.queues = tuple(queues)
        self.log = log
        argv = [sys.executable, "-m", "taskbridge", command, "--url", url]
        if imports:
            argv += ["--imports", ",".join(imports)]
        if concurrency is not None:
            argv += ["-c", str(concurrency)]
        for queue in self.queues:
            argv += ["-q", queue]
        if pool is not None:
            argv += ["--pool", pool]
        argv += list(args)
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                argv, stdout=output, stderr=subprocess.STDOUT, cwd=cwd,
                env=_environment(env or {}, pythonpath),
                start_new_session=True, preexec_fn=_stop_with_parent,
            )

    def __repr__(self) -> str:
        state = "running" if self.poll() is None else f"exited {self.process.returncode}"
        return f"<WorkerProcess {self.command} pid={self.pid} {state}>"

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def poll(self) -> int | None:
        """The exit code, or ``None`` while the process runs."""
        return self.process.poll()

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the process to exit; its exit code (``subprocess.TimeoutExpired`` if not)."""
        return self.process.wait(timeout)

    def send_signal(self, signum: int) -> None:
        """Send ``signum`` to the process itself (not its children)."""
        self.process.send_signal(signum)

    def output(self, tail: int | None = None) -> str:
        """What the process printed so far (its last ``tail`` characters, if given)."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return text if tail is None else text[-tail:]

    def wait_for_output(self, text: str, timeout: float = 20.0) -> None:
        """Wait until ``text`` appears in the output; fail if the process exits without it."""
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if self.poll() is not None and text not in self.output():
                raise AssertionError(
                    f"{self.command} exited ({self.returncode}) without printing {text!r}:\n"
                    f"{self.output(tail=4000)}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{text!r} not in the {self.command}'s output after {timeout:g}s:\n"
                    f"{self.output(tail=4000)}"
                )
            time.sleep(0.05)

    def announced(self, bridge: Bridge) -> bool:
        """Whether this worker (or a process it started) is registered in ``bridge``'s store."""
        for info in bridge.store.workers():
            pid = info.get("pid")
            if isinstance(pid, int) and (pid == self.pid or _group_of(pid) == self.pid):
                return True
        return False

    def wait_until_announced(self, bridge: Bridge, timeout: float = WORKER_START_TIMEOUT) -> None:
        """Wait until the worker announces itself in the store; kill it and fail with its
        output if it exits or stays silent for ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not self.announced(bridge):
            if self.poll() is not None or time.monotonic() > deadline:
                self.kill()
                problem = (
                    "never announced itself" if self.returncode == -signal.SIGKILL
                    else f"exited with code {self.returncode}"
                )
                raise AssertionError(
                    f"taskbridge worker for {bridge.url.redacted()} {problem} (within "
                    f"{timeout:g}s); its output:\n{self.output(tail=4000)}"
                )
            time.sleep(0.05)

    def stop(
        self, timeout: float = WORKER_STOP_TIMEOUT, signum: int = signal.SIGTERM
    ) -> int | None:
        """Ask the process to stop (SIGTERM: a warm shutdown) and wait ``timeout`` seconds.

        Returns its exit code, or ``None`` if it did not stop in time. Either way, whatever is
        left of its process group is killed afterwards.
        """
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signum)
        return self.reap(timeout)

    def reap(self, timeout: float = WORKER_STOP_TIMEOUT) -> int | None:
        """Wait up to ``timeout`` seconds for the process to exit, then kill what is left of its
        process group; the exit code, or ``None`` if it had to be killed."""
        code = None
        with contextlib.suppress(subprocess.TimeoutExpired):
            code = self.process.wait(timeout)
        self.kill()
        return code

    def kill(self) -> None:
        """SIGKILL the process and every process it started, at once (a crash, an OOM kill)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        self.process.wait(10)


class Workers:
    """The worker and scheduler processes of one test (or module or session).

    Defaults given here (URL, tasks modules, extra ``PYTHONPATH`` entries, environment) apply
    to every process started; :meth:`stop_all` (or leaving the ``with`` block) stops them all.
    """

    def __init__(
        self,
        workdir: str | os.PathLike[str],
        *,
        url: str | None = None,
        imports: Sequence[str] = (),
        pythonpath: Sequence[str | os.PathLike[str]] = (),
        env: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
        cwd: str | os.PathLike[str] | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.url = url
        self.imports = tuple(imports)
        self.pythonpath = tuple(pythonpath)
        self.env = dict(env or {})
        self.args = tuple(args)
        self.cwd = cwd
        self.started: list[WorkerProcess] = []
        self._bridges: dict[str, Bridge] = {}

    def __enter__(self) -> Workers:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop_all()

    def start(
        self,
        url: str | None = None,
        *,
        queues: Sequence[str] = (),
        concurrency: int | None = None,
        pool: str | None = None,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        bridge: Bridge | None = None,
        timeout: float = WORKER_START_TIMEOUT,
    ) -> WorkerProcess:
        """Start ``taskbridge worker`` and wait until it announces itself in the store (seen
        through ``bridge``, or a bridge of the runner's own on the same URL)."""
        url = self._url(url)
        worker = self._spawn("worker", url, queues=queues, concurrency=concurrency, pool=pool,
                             args=args, env=env)
        worker.wait_until_announced(bridge or self._bridge(url), timeout)
        return worker

    def start_scheduler(
        self, url: str | None = None, *, args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> WorkerProcess:
        """Start ``taskbridge scheduler`` (schedulers announce nothing: poll for its ticks)."""
        return self.start_command("scheduler", url, args=args, env=env)

    def start_command(
        self, command: str, url: str | None = None, *, args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> WorkerProcess:
        """Start another long-running ``taskbridge`` command (``dashboard``, say) the same way,
        without waiting for anything: poll its output or what it serves."""
        return self._spawn(command, self._url(url), args=args, env=env)

    def stop(self, worker: WorkerProcess, timeout: float = WORKER_STOP_TIMEOUT) -> int | None:
        """Stop one process (see :meth:`WorkerProcess.stop`) and forget it."""
        try:
            return worker.stop(timeout)
        finally:
            self._forget(worker)

    def kill(self, worker: WorkerProcess) -> None:
        """SIGKILL one process and its children, and forget it."""
        try:
            worker.kill()
        finally:
            self._forget(worker)

    def stop_all(self) -> None:
        """Stop every process still running: SIGTERM to all at once (one signal each: a second
        one may find the engine's own handler gone), then SIGKILL what is left."""
        running = list(self.started)
        for worker in running:
            if worker.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    worker.send_signal(signal.SIGTERM)
        for worker in running:
            try:
                worker.reap()
            finally:
                self._forget(worker)
        for bridge in self._bridges.values():
            with contextlib.suppress(Exception):
                bridge.close()
        self._bridges.clear()

    def _url(self, url: str | None) -> str:
        chosen = url or self.url
        if chosen is None:
            raise TypeError("no URL: pass url= here or to Workers()")
        return chosen

    def _spawn(
        self, command: str, url: str, *, queues: Sequence[str] = (),
        concurrency: int | None = None, pool: str | None = None, args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> WorkerProcess:
        log = self.workdir / f"{command}-{len(self.started)}-{uuid.uuid4().hex[:6]}.log"
        worker = WorkerProcess(
            url, log=log, command=command, imports=self.imports, queues=queues,
            concurrency=concurrency, pool=pool, args=[*self.args, *args],
            env={**self.env, **(env or {})}, pythonpath=self.pythonpath, cwd=self.cwd,
        )
        self.started.append(worker)
        return worker

    def _bridge(self, url: str) -> Bridge:
        if url not in self._bridges:
            from taskbridge._bridge import Bridge

            self._bridges[url] = Bridge(url)
        return self._bridges[url]

    def _forget(self, worker: WorkerProcess) -> None:
        if worker in self.started:
            self.started.remove(worker)


def _environment(
    env: Mapping[str, str], pythonpath: Iterable[str | os.PathLike[str]]
) -> dict[str, str]:
    merged = {**os.environ, **env}
    path = [os.fspath(entry) for entry in pythonpath]
    if merged.get("PYTHONPATH"):
        path.append(merged["PYTHONPATH"])
    if path:
        merged["PYTHONPATH"] = os.pathsep.join(path)
    return merged


def _stop_with_parent() -> None:
    """In the forked worker, before exec: on Linux, get SIGTERM when the test process dies, so
    a killed pytest run leaves no workers behind."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _group_of(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None
