"""The command line as an operator meets it at 3 a.m.: real processes, a server that does not
answer, a wrong path, a closed pipe. One line, the right exit code, never a traceback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import taskbridge
from taskbridge.cli import main

COMMANDS = [
    ["status"], ["inspect", "some-id"], ["failed"], ["failed", "--retry", "some-id"],
    ["failed", "--retry-all"], ["tasks"], ["schedules", "list"],
]
PLAIN_ONLY = [["schedules", "pause", "nightly"], ["schedules", "remove", "nightly"]]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def taskbridge_process(*argv: str, cwd: Path, env: dict[str, str] | None = None,
                       ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "taskbridge", *argv], capture_output=True, text=True, cwd=cwd,
        timeout=120, check=False, env=dict(os.environ, **(env or {})),
    )


@pytest.mark.parametrize("engine", ["rq", "celery", "huey"])
def test_every_command_against_an_unreachable_server_says_one_line(
    engine: str, tmp_path: Path
) -> None:
    """Every command, run as a real process against a Redis that does not answer, exits 1 with
    one line naming what is unreachable and what to check; with --json, a JSON error object
    on stdout; never a traceback."""
    pytest.importorskip(f"taskbridge_{engine}")
    url = f"{engine}+redis://127.0.0.1:{closed_port()}/0"
    runs = [[*c, "--json"] for c in COMMANDS] + COMMANDS + PLAIN_ONLY
    with ThreadPoolExecutor(4) as pool:
        done = list(pool.map(lambda argv: taskbridge_process(*argv, "--url", url,
                                                             cwd=tmp_path), runs))
    for argv, process in zip(runs, done, strict=True):
        assert "Traceback" not in process.stderr, (argv, process.stderr)
        assert process.returncode == 1, (argv, process.returncode, process.stderr)
        if argv[0] == "status":
            continue  # status reports in its own shape; checked below
        lines = process.stderr.strip().splitlines()
        assert len(lines) == 1, (argv, process.stderr)
        assert lines[0].startswith("taskbridge: error: ") and "could not " in lines[0]
        assert "127.0.0.1" in lines[0] and "check that the server is running" in lines[0]
        if "--json" in argv:
            error = json.loads(process.stdout)["error"]
            # Retrying sends a task: like every enqueue, that is an EnqueueError.
            sends = "--retry" in argv
            assert error["type"] == ("EnqueueError" if sends else "StoreUnavailable")
            assert "127.0.0.1" in error["message"]
    status = json.loads(done[0].stdout)
    assert status["reachable"] is False and status["error"]["type"] in {
        "EnqueueError", "StoreUnavailable"}


def test_inspect_of_an_unknown_id_prints_a_json_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """inspect UNKNOWN --json exits 1 with {"error": {"type": "ResultNotFound", ...}}."""
    assert main(["inspect", "nobody", "--json", "--url", "memory://"]) == 1
    out, err = capsys.readouterr()
    assert json.loads(out)["error"]["type"] == "ResultNotFound"
    assert err.startswith("taskbridge: error: ") and "nobody" in err


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`taskbridge tasks --json | head` ends without a BrokenPipeError traceback."""
    (tmp_path / "many_tasks.py").write_text(textwrap.dedent("""
        from taskbridge import task
        for n in range(3000):
            task(name=f"many.task_number_{n:05d}", queue="a-rather-long-queue-name")(print)
    """))
    process = subprocess.Popen(
        [sys.executable, "-m", "taskbridge", "tasks", "--json", "--imports", "many_tasks",
         "--url", "memory://"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(tmp_path)),
    )
    assert process.stdout is not None and process.stderr is not None
    head = process.stdout.read(100)
    process.stdout.close()  # what `head` does once it has its lines
    stderr = process.stderr.read().decode()
    process.stderr.close()
    process.wait(timeout=60)
    assert head.startswith(b"{")
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    assert process.returncode == 0


def test_worker_importing_a_missing_module_exits_2_with_one_line(tmp_path: Path) -> None:
    """worker --imports missing_module is a configuration error: exit 2, one line."""
    process = taskbridge_process("worker", "--imports", "missing_module", "--url", "memory://",
                                 cwd=tmp_path)
    assert process.returncode == 2, process.stderr
    assert process.stderr.count("\n") == 1 and "missing_module" in process.stderr
    assert "TASKBRIDGE_IMPORTS" in process.stderr


@pytest.mark.parametrize("argv", [["-c", "0"], ["-q", "bad queue!"]])
def test_huey_worker_with_bad_options_exits_2(argv: list[str], tmp_path: Path) -> None:
    """On Huey, worker -c 0 and worker -q 'bad queue!' refuse to start: exit 2, one line."""
    pytest.importorskip("taskbridge_huey")
    process = taskbridge_process("worker", *argv, "--url", f"huey+sqlite:///{tmp_path}/t.db",
                                 cwd=tmp_path)
    assert process.returncode == 2, process.stderr
    assert process.stderr.count("\n") == 1, process.stderr
    assert ("concurrency" in process.stderr) or ("queue" in process.stderr)


def test_an_unexpected_error_is_one_line_and_v_shows_the_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bug in a command still prints one line (exit 1); -v adds the traceback."""

    def broken(*args: object) -> int:
        raise KeyError("a bug")

    monkeypatch.setattr("taskbridge.cli._tasks.code_schedules", broken)
    assert main(["tasks", "--url", "memory://"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unexpected KeyError" in err and "-v" in err
    assert main(["tasks", "--url", "memory://", "-v"]) == 1
    assert "Traceback" in capsys.readouterr().err


# -- SQLite paths ------------------------------------------------------------------------------


def test_read_commands_never_create_a_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A read command on a path where no database is says so (exit 1) and creates nothing."""
    pytest.importorskip("taskbridge_huey")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TASKBRIDGE_URL", raising=False)
    for argv in (["status"], ["failed"], ["inspect", "x"], ["tasks"], ["schedules", "list"],
                 ["status", "--url", "memory://?store=sqlite:///state.db"]):
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert f"no database at {tmp_path}/" in err and "is the URL right?" in err
    assert list(tmp_path.iterdir()) == []


def test_status_shows_the_absolute_path_of_a_relative_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """status names the database by its absolute path, whatever the URL said."""
    pytest.importorskip("taskbridge_huey")
    monkeypatch.chdir(tmp_path)
    taskbridge.Bridge("huey+sqlite:///tasks.db").close()
    assert main(["status", "--json", "--url", "huey+sqlite:///tasks.db"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert str(tmp_path / "tasks.db") in report["store"]
    assert report["files"] == [str(tmp_path / "tasks.db")]
