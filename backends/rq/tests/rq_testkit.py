"""Fixtures for the RQ backend's tests: a unique namespace on a real Redis, real workers."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
from urllib.parse import urlsplit

import redis

HERE = pathlib.Path(__file__).parent


TASKS = "rq_test_tasks"


def rq_url(redis_url: str, namespace: str) -> str:
    parts = urlsplit(redis_url)
    return f"rq+redis://{parts.netloc}{parts.path or '/0'}?namespace={namespace}"


def delete_keys(client: redis.Redis, namespace: str, ids: set[str]) -> None:
    """Delete our store keys and the RQ keys that name our namespace or our job ids."""
    mine = [namespace, *ids]
    doomed = list(client.scan_iter(match=f"{namespace}:*", count=1000))
    for key in client.scan_iter(match="rq:*", count=1000):
        text = key.decode(errors="replace")
        if any(part in text for part in mine):
            doomed.append(key)
    for member in client.smembers("rq:queues"):
        if namespace in member.decode(errors="replace"):
            client.srem("rq:queues", member)
    for start in range(0, len(doomed), 500):
        client.delete(*doomed[start:start + 500])


class Workers:
    """Starts ``taskbridge worker`` subprocesses and stops whatever is left at the end."""

    def __init__(self, url: str, tmp: pathlib.Path) -> None:
        self.url, self.tmp, self.procs = url, tmp, list[subprocess.Popen[bytes]]()

    def start(self, *extra: str) -> subprocess.Popen[bytes]:
        path = os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])
        env = dict(os.environ, PYTHONPATH=path, TASKBRIDGE_HEARTBEAT_INTERVAL="1")
        log = open(self.tmp / f"worker-{len(self.procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "taskbridge", "worker", "--url", self.url,
             "--imports", TASKS, *extra],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
        log.close()
        self.procs.append(proc)
        return proc

    def log(self, index: int = 0) -> str:
        return (self.tmp / f"worker-{index}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
