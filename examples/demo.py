"""The taskbridge demo: real tasks on the embedded default (Huey on SQLite), a real worker.

Run it with `bash scripts/demo.sh`. It starts `taskbridge worker` as a separate process, enqueues
a few tasks (one that retries, one deduplicated by its idempotency key, one delayed, a chain),
waits for them and prints their final statuses.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from demo_tasks import add, build_report, flaky_api_call, send_welcome_email  # noqa: E402

import taskbridge  # noqa: E402


def main() -> int:
    folder = tempfile.mkdtemp(prefix="taskbridge-demo-")
    url = f"huey+sqlite:///{folder}/tasks.db"
    bridge = taskbridge.configure(url)
    print(f"backend: {url}  (Huey on SQLite, the embedded default: no server needed)")
    path = os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])
    env = dict(os.environ, PYTHONPATH=path)
    worker = subprocess.Popen(
        [sys.executable, "-m", "taskbridge", "worker", "--url", url, "--imports", "demo_tasks",
         "-c", "2"],
        env=env,
    )
    try:
        started = time.monotonic()
        results = {
            "add(2, 3)": add.enqueue(2, 3),
            "flaky_api_call (retries twice)": flaky_api_call.enqueue("https://api.example.org"),
            "welcome email, 1st enqueue": send_welcome_email.using(
                idempotency_key="welcome:42").enqueue(42),
            "welcome email, 2nd enqueue": send_welcome_email.using(
                idempotency_key="welcome:42").enqueue(42),
            "build_report (delayed 2 s)": build_report.using(delay=2).enqueue("daily"),
            "chain add(1,2) -> add(+10)": taskbridge.chain(add.s(1, 2), add.s(10)).enqueue(),
        }
        for result in results.values():
            with contextlib.suppress(taskbridge.TaskBridgeError):  # shown in the table below
                result.wait(timeout=60)
        elapsed = time.monotonic() - started
        print(f"\n{'task':34} {'status':10} {'attempts':>8}  {'dedup':5}  value")
        for label, result in results.items():
            result.refresh()
            print(f"{label:34} {result.status.value:10} {result.attempts:>8}  "
                  f"{'yes' if result.deduplicated else 'no':5}  {result.value!r}")
        report = results["build_report (delayed 2 s)"]
        assert report.started_at and report.enqueued_at
        waited = (report.started_at - report.enqueued_at).total_seconds()
        print(f"\nthe delayed report started {waited:.1f}s after it was enqueued; "
              f"progress {report.progress}; all done in {elapsed:.1f}s")
        same = results["welcome email, 1st enqueue"].id == results["welcome email, 2nd enqueue"].id
        print(f"both welcome-email enqueues returned the same id: {same}")
        ok = all(r.status is taskbridge.Status.SUCCEEDED for r in results.values())
        return 0 if ok and same else 1
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
        bridge.close()


if __name__ == "__main__":
    raise SystemExit(main())
