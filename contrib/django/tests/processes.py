"""Real ``manage.py taskbridge`` processes for the adapter's tests, on the test databases."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

TESTS = Path(__file__).parent
MANAGE = TESTS / "manage.py"


def environment(**overrides: str) -> dict[str, str]:
    """The environment of a process of the test project: the test databases, a short heartbeat
    (housekeeping, crash recovery and the unsent sweep run every 0.5 s), and ``overrides``
    (``TASKBRIDGE_DJANGO_TEST_URL``, ``..._STORE``, ``..._UNSENT_GRACE``)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "testproject.settings",
        "TASKBRIDGE_DJANGO_TEST_DATABASES": "test",
        "TASKBRIDGE_HEARTBEAT_INTERVAL": "0.5",
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
    }
    env.update(overrides)
    return env


def start(arguments: list[str], env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``manage.py <arguments>`` in its own process group, output to ``log``."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, str(MANAGE), *arguments], env=dict(env), stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )


def stop(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM the process group, then SIGKILL it if it has not exited in ``timeout``."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


@contextmanager
def workers(count: int, env: Mapping[str, str], folder: Path) -> Iterator[list[Path]]:
    """``count`` running ``manage.py taskbridge worker -c 2`` processes; their logs."""
    logs = [folder / f"worker-{n}.log" for n in range(count)]
    started = [start(["taskbridge", "worker", "-c", "2"], env, log) for log in logs]
    try:
        yield logs
    finally:
        for process in started:
            stop(process)


def log_text(logs: list[Path]) -> str:
    return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}"
                     for log in logs if log.exists())
