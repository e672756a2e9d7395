"""Fixtures for the Huey backend tests: bridges on SQLite and Redis, and real worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from taskbridge import Bridge
from taskbridge.testing.redis_server import test_redis_url, unique_prefix

TESTS = Path(__file__).parent


sys.path.insert(0, str(TESTS))


def sqlite_url(tmp_path: Path, **options: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in options.items())
    return f"huey+sqlite:///{tmp_path / 'tasks.db'}" + (f"?{query}" if query else "")


def redis_url(**options: str) -> str:
    base = test_redis_url().replace("redis://", "huey+redis://", 1)
    options.setdefault("namespace", unique_prefix("huey"))
    return base + "?" + "&".join(f"{k}={v}" for k, v in options.items())


def delete_namespace(bridge: Bridge) -> None:
    """Delete the keys this test wrote: the store's and Huey's, all under the namespace."""
    client = bridge.backend.redis  # type: ignore[attr-defined]
    namespace = bridge.backend.namespace  # type: ignore[attr-defined]
    for pattern in (f"{namespace}:*", f"huey.*.{namespace}.*"):
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            client.delete(*keys)


class Workers:
    """Starts real ``taskbridge worker`` processes and stops them at the end of the test."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, url: str, *extra: str) -> subprocess.Popen[bytes]:
        env = dict(os.environ, PYTHONPATH=str(TESTS))
        log = open(self.tmp_path / f"worker-{len(self.started)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "taskbridge", "worker", "--url", url,
             "--imports", "hueytasks", "-v", *extra],
            env=env, cwd=self.tmp_path, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        self.started.append(process)
        return process

    def log(self, index: int = 0) -> str:
        return (self.tmp_path / f"worker-{index}.log").read_text()

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.terminate()
        for process in self.started:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

