"""The ``taskbridge`` command line, run in-process through ``taskbridge.cli.main``."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import taskbridge
from taskbridge import Status, task
from taskbridge._record import ErrorInfo
from taskbridge._schedules.registry import forget_code_schedule, periodic
from taskbridge._schedules.values import Every
from taskbridge.cli import main


@task(name="cli_probe.add")
def add(a: int, b: int) -> int:
    return a + b


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A huey+sqlite URL in a fresh directory: one store every main() call shares."""
    return f"huey+sqlite:///{tmp_path / 'tasks.db'}"


@pytest.fixture
def bridge(url: str) -> Iterator[taskbridge.Bridge]:
    """A bridge on ``url``, for the test to set things up and check them."""
    bridge = taskbridge.Bridge(url)
    yield bridge
    bridge.close()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def fail(bridge: taskbridge.Bridge, *args: Any) -> str:
    """Enqueue add(*args) and finish it FAILED through the store, as a worker would."""
    result = add.using(bridge=bridge).enqueue(*args)
    now = time.time()
    assert bridge.store.start(result.id, 1, worker="test", now=now) is not None
    bridge.store.finish(result.id, 1, Status.FAILED, now=now, idempotency_ttl=60,
                        error=ErrorInfo("ValueError", "bad input"))
    return result.id


def test_python_m_taskbridge_help() -> None:
    """``python -m taskbridge --help`` lists the commands and exits 0."""
    done = subprocess.run([sys.executable, "-m", "taskbridge", "--help"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0
    for command in ("worker", "scheduler", "status", "inspect", "failed", "tasks",
                    "schedules", "capabilities"):
        assert command in done.stdout


@pytest.mark.parametrize("argv", [
    ["worker"], ["scheduler"], ["status"], ["inspect"], ["failed"], ["tasks"],
    ["capabilities"], ["schedules"], ["schedules", "add"], ["schedules", "pause"],
    ["schedules", "resume"], ["schedules", "remove"], ["schedules", "list"],
])
def test_every_command_has_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """``--help`` works on every command and exits 0."""
    with pytest.raises(SystemExit) as exited:
        main([*argv, "--help"])
    assert exited.value.code == 0
    assert "usage: taskbridge" in capsys.readouterr().out


def test_bad_url_is_a_one_line_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --url that does not parse: one-line error, exit 2, no file written."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "status", "--url", "huey+sqlite//no-scheme-separator")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "malformed" in err
    assert list(tmp_path.iterdir()) == []


def test_worker_events_on_an_engine_without_them_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``worker -E`` asks for engine task events; an engine without them refuses it (exit 2)."""
    code, _, err = run(capsys, "worker", "--url", "memory://", "-E")
    assert code == 2
    assert "-E/--events: memory workers send no task events of their own" in err


def test_unknown_engine_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """An engine no plugin provides exits 2 and names the installed engines."""
    code, _, err = run(capsys, "tasks", "--url", "nope+redis://localhost")
    assert code == 2 and "installed engines" in err and "memory" in err


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """argparse's usage errors exit 2."""
    with pytest.raises(SystemExit) as exited:
        main(["failed", "--retry", "x", "--retry-all", "--url", "memory://"])
    assert exited.value.code == 2


def test_status_reports_a_reachable_backend(capsys: pytest.CaptureFixture[str]) -> None:
    """status --json: reachable, queue depths, workers and the failed count; exit 0."""
    report = run_json(capsys, "status", "--url", "memory://")
    assert report["reachable"] is True
    assert report["queues"]["default"] == 0 and report["failed"] == 0
    assert report["workers"] == []


def test_status_of_an_unreachable_backend_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    """status exits 1 and says why when the backend cannot be reached."""
    code, out, err = run(capsys, "status", "--url", "rq+redis://127.0.0.1:1/0")
    assert code == 1
    assert "reachable" in out + err or "cannot reach" in out + err


def test_status_counts_failed_tasks_and_queue_depth(
    url: str, bridge: taskbridge.Bridge, capsys: pytest.CaptureFixture[str]
) -> None:
    """status sees failed executions and the messages waiting in Huey's queue."""
    fail(bridge, 1, 2)  # its message stays queued: no worker consumed it
    add.using(bridge=bridge).enqueue(3, 4)
    report = run_json(capsys, "status", "--url", url)
    assert report["failed"] == 1 and report["queues"]["default"] == 2
    code, out, _ = run(capsys, "status", "--url", url)
    assert code == 0 and "failed tasks" in out


def test_inspect_shows_one_execution(
    url: str, bridge: taskbridge.Bridge, capsys: pytest.CaptureFixture[str]
) -> None:
    """inspect ID prints the record; --json gives its fields; an unknown id exits 1."""
    id = fail(bridge, 1, 2)
    data = run_json(capsys, "inspect", id, "--url", url)
    assert (data["status"], data["args"], data["error"]["message"]) == (
        "FAILED", [1, 2], "bad input")
    code, out, _ = run(capsys, "inspect", id, "--url", url)
    assert code == 0 and "bad input" in out and id in out
    code, _, err = run(capsys, "inspect", "no-such-id", "--url", url)
    assert code == 1 and "no-such-id" in err


def test_failed_lists_and_retries_one(
    url: str, bridge: taskbridge.Bridge, capsys: pytest.CaptureFixture[str]
) -> None:
    """failed lists the dead letters; --retry ID re-enqueues one; retrying it twice exits 1."""
    first, second = fail(bridge, 1, 1), fail(bridge, 2, 2)
    listed = run_json(capsys, "failed", "--url", url)
    assert {r["id"] for r in listed} == {first, second}
    retried = run_json(capsys, "failed", "--retry", first, "--url", url)
    assert bridge.get_result(retried["as"]).status is Status.PENDING
    assert [r["id"] for r in run_json(capsys, "failed", "--url", url)] == [second]
    code, _, err = run(capsys, "failed", "--retry", first, "--url", url)
    assert code == 1 and "retried" in err


def test_failed_retry_all(
    url: str, bridge: taskbridge.Bridge, capsys: pytest.CaptureFixture[str]
) -> None:
    """failed --retry-all re-enqueues every failed execution and empties the list."""
    ids = {fail(bridge, n, n) for n in range(5)}
    code, out, _ = run(capsys, "failed", "--retry-all", "--url", url)
    assert code == 0 and "retried 5" in out
    assert run_json(capsys, "failed", "--url", url) == []
    assert {bridge.get_result(id).record.retried_as is not None for id in ids} == {True}


def test_tasks_lists_tasks_and_schedules_with_next_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """tasks shows registered tasks and code schedules with their next run."""
    periodic(Every(minutes=5), name="cli-every-5m", args=(1, 2))(add)
    try:
        data = run_json(capsys, "tasks", "--url", "memory://")
        code, out, _ = run(capsys, "tasks", "--url", "memory://")
    finally:
        forget_code_schedule("cli-every-5m")
    assert "cli_probe.add" in {t["name"] for t in data["tasks"]}
    [schedule] = [s for s in data["schedules"] if s["name"] == "cli-every-5m"]
    assert schedule["task"] == "cli_probe.add" and schedule["next_run"] is not None
    assert code == 0 and "cli-every-5m" in out and "every 5m" in out


def test_schedules_add_pause_resume_remove_list(
    url: str, bridge: taskbridge.Bridge, capsys: pytest.CaptureFixture[str]
) -> None:
    """schedules add/pause/resume/remove change the store; list shows the state."""
    code, out, _ = run(capsys, "schedules", "add", "nightly", "cli_probe.add", "--cron",
                       "0 3 * * *", "--tz", "Europe/Berlin", "--args", "[1, 2]", "--url", url)
    assert code == 0 and "nightly" in out
    entry = bridge.schedules.get("nightly")
    assert entry is not None and entry.args == (1, 2)
    assert run(capsys, "schedules", "pause", "nightly", "--url", url)[0] == 0
    [listed] = run_json(capsys, "schedules", "list", "--url", url)
    assert listed["paused"] is True and listed["next_run"] is None
    assert run(capsys, "schedules", "resume", "nightly", "--url", url)[0] == 0
    assert bridge.schedules.get("nightly").paused is False  # type: ignore[union-attr]
    assert run(capsys, "schedules", "remove", "nightly", "--url", url)[0] == 0
    assert run_json(capsys, "schedules", "list", "--url", url) == []
    assert run(capsys, "schedules", "remove", "nightly", "--url", url)[0] == 1


@pytest.mark.parametrize("action", ["pause", "resume", "remove"])
def test_schedules_action_on_an_unknown_name_is_one_line_exit_1(
    action: str, url: str, bridge: taskbridge.Bridge, capsys: pytest.CaptureFixture[str]
) -> None:
    """pause, resume or remove of a schedule nobody stored exits 1 with one line naming it."""
    bridge.schedules.add("known", add, Every(minutes=5), args=(1, 2))
    code, out, err = run(capsys, "schedules", action, "unknown", "--url", url)
    assert (code, out) == (1, "")
    assert err.startswith("taskbridge: error: no schedule named 'unknown'")
    assert err.count("\n") == 1
    assert [e.name for e in bridge.schedules.list()] == ["known"]


@pytest.mark.parametrize(("when", "message"), [
    (["--cron", "61 * * * *"], "invalid cron expression"),
    (["--cron", "* * * * *", "--tz", "Nowhere/Land"], "unknown time zone"),
    (["--every", "0"], "positive interval"),
    (["--at", "2030-01-01T09:00:00"], "timezone-aware"),
    (["--solar", "sunrise", "--lat", "95", "--lon", "0"], "latitude"),
])
def test_schedules_add_refuses_bad_schedules(
    when: list[str], message: str, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad schedule is a one-line usage error (exit 2) and nothing is stored."""
    code, _, err = run(capsys, "schedules", "add", "bad", "cli_probe.add", *when, "--url", url)
    assert code == 2 and message in err and err.count("\n") == 1
    assert run_json(capsys, "schedules", "list", "--url", url) == []


def test_capabilities_matrix_covers_installed_backends(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """capabilities lists every installed engine's flags, by mode where declared."""
    from taskbridge._plugins import installed_engines

    matrix = run_json(capsys, "capabilities")
    assert set(matrix) == set(installed_engines())
    assert matrix["memory"]["capabilities"]["in_process"] is True
    code, out, _ = run(capsys, "capabilities")
    assert code == 0 and "in_process" in out and "memory" in out
