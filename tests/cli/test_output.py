"""How the command line lays out what it prints: orders, widths."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import taskbridge
from taskbridge import Status, task
from taskbridge._record import ErrorInfo
from taskbridge.cli import main


@task(name="cli_output.add")
def add(a: int, b: int) -> int:
    return a + b


def fail_at(bridge: taskbridge.Bridge, finished: float) -> str:
    """An execution enqueued now and finished FAILED at ``finished``."""
    result = add.using(bridge=bridge).enqueue(1, 2)
    assert bridge.store.start(result.id, 1, worker="w", now=finished - 1) is not None
    bridge.store.finish(result.id, 1, Status.FAILED, now=finished, idempotency_ttl=60,
                        error=ErrorInfo("ValueError", "a rather long message " * 8))
    return result.id


def test_failed_is_sorted_by_finish_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`failed` lists the latest finished first, the order of its "finished" column, even
    when the executions were enqueued in another order."""
    pytest.importorskip("taskbridge_huey")
    url = f"huey+sqlite:///{tmp_path / 'tasks.db'}"
    bridge = taskbridge.Bridge(url)
    now = time.time()
    try:
        ids = [fail_at(bridge, finished) for finished in (now - 10, now - 30, now - 20)]
        time.sleep(0.01)
        assert main(["failed", "--url", url]) == 0
        out = capsys.readouterr().out
        assert main(["failed", "--json", "--url", url]) == 0
    finally:
        bridge.close()
    listed = [line.split()[1] for line in out.splitlines() if line[2:34] in ids]
    assert listed == [ids[0], ids[2], ids[1]]


def test_tables_fit_columns_when_not_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Off a terminal, tables fit $COLUMNS when it is set (long cells fold), else 200."""
    pytest.importorskip("taskbridge_huey")
    url = f"huey+sqlite:///{tmp_path / 'tasks.db'}"
    bridge = taskbridge.Bridge(url)
    try:
        fail_at(bridge, time.time())
        monkeypatch.setenv("COLUMNS", "80")
        assert main(["failed", "--url", url]) == 0
        narrow = capsys.readouterr().out.splitlines()
        monkeypatch.delenv("COLUMNS")
        assert main(["failed", "--url", url]) == 0
        wide = capsys.readouterr().out.splitlines()
    finally:
        bridge.close()
    assert max(map(len, narrow)) <= 80 < max(map(len, wide)) <= 200


def test_tasks_with_nothing_registered_says_what_to_pass(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`tasks` with no task registered notes --imports and TASKBRIDGE_IMPORTS (exit 0)."""
    monkeypatch.setattr("taskbridge._registry._tasks", {})
    assert main(["tasks", "--url", "memory://"]) == 0
    err = capsys.readouterr().err
    assert "no task is registered" in err and "--imports" in err
    assert "TASKBRIDGE_IMPORTS" in err
