"""``flask taskbridge ...`` run as real processes for the tests, with their logs."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

HERE = Path(__file__).parent
APP = "flask_app:create_app"


def environment(url: str, database: str | None = None, **extra: str) -> dict[str, str]:
    """What a process needs to build the test app on ``url`` (and ``database``)."""
    path = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTHONPATH=path, FLASK_TEST_TASKBRIDGE_URL=url,
               TASKBRIDGE_HEARTBEAT_INTERVAL="1", **extra)
    if database:
        env["FLASK_TEST_DATABASE"] = database
    return env


def flask(*args: str, env: dict[str, str], app: str = APP,
          timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``flask --app APP ARGS`` to completion."""
    return subprocess.run([sys.executable, "-m", "flask", "--app", app, *args], env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


@contextlib.contextmanager
def running(args: Sequence[str], env: dict[str, str], log: Path,
            app: str = APP) -> Iterator[subprocess.Popen[bytes]]:
    """``flask --app APP ARGS`` in the background, logging to ``log``; stopped with SIGTERM
    (then SIGKILL) at the end of the block, with its whole process group."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", app, *args], env=env, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
