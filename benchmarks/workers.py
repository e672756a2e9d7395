"""Worker processes for the drain and round-trip benchmarks: start, wait for, stop."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from benchmarks import stamps

REPO = Path(__file__).resolve().parent.parent


def python_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a worker: the repository importable (``benchmarks.*``), plus extras."""
    env = dict(os.environ)
    paths = [str(REPO), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.update(extra or {})
    return env


class WorkerProcess:
    """One worker command run as its own process group, stopped with SIGTERM (then SIGKILL)."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], log: Path) -> None:
        self.argv = list(argv)
        self.env = dict(env)
        self.log = log
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> WorkerProcess:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self._process = subprocess.Popen(
                self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                cwd=REPO, start_new_session=True,
            )
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("the worker is not running")
        return self._process.pid

    def check_alive(self) -> None:
        """Raise with the worker's log tail if it exited early."""
        if self._process is not None and self._process.poll() is not None:
            raise RuntimeError(
                f"worker {' '.join(self.argv)} exited with {self._process.returncode}; "
                f"last log lines:\n{tail(self.log)}"
            )

    def stop(self, timeout: float = 20.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        # Children (Celery prefork, RQ work horses) go with their group if they outlived it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str,
             worker: WorkerProcess | None = None, interval: float = 0.01) -> None:
    """Poll ``condition`` until true; raise ``TimeoutError`` naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while not condition():
        if worker is not None:
            worker.check_alive()
        if time.monotonic() > deadline:
            log = f"; worker log tail:\n{tail(worker.log)}" if worker is not None else ""
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}{log}")
        time.sleep(interval)


def drain(argv: Sequence[str], env: Mapping[str, str], stamp_file: Path, expected: int,
          log: Path, *, timeout: float) -> list[float]:
    """Start a worker on a pre-filled queue, wait until it has run ``expected`` tasks, stop it;
    returns the completion stamps."""
    if stamp_file.exists():
        stamp_file.unlink()
    worker_env = {**env, stamps.ENV: str(stamp_file)}
    with WorkerProcess(argv, worker_env, log) as worker:
        wait_for(lambda: stamps.count(str(stamp_file)) >= expected, timeout=timeout,
                 what=f"{expected} completions in {stamp_file.name}", worker=worker,
                 interval=0.05)
    return stamps.read(str(stamp_file))


def taskbridge_worker_argv(url: str, *, concurrency: int, pool: str | None) -> list[str]:
    argv = [sys.executable, "-m", "taskbridge", "worker", "--url", url,
            "--imports", "benchmarks.workload", "-c", str(concurrency)]
    if pool:
        argv += ["--pool", pool]
    return argv
