"""The command line of issue 9's records items: purge, failed filters and discard, retry-all of
failed chains, and inspect's progress log and attempts."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import taskbridge
from taskbridge import RetryPolicy, Status, TaskContext, chain, task
from taskbridge.cli import main
from taskbridge.plugin import execute


@task(name="cli_records.add")
def add(a: int, b: int = 0) -> int:
    return a + b


@task(name="cli_records.gate", queue="gates")
def gate(value: Any, path: str) -> Any:
    if not Path(path).exists():
        raise FileNotFoundError(f"gate closed: {path}")
    return value


@task(context=True, name="cli_records.steps",
      retry=RetryPolicy(max_attempts=2, backoff=0.0, jitter=False))
def steps(context: TaskContext) -> str:
    context.set_progress(50, "half way")
    if context.attempt == 1:
        raise ConnectionError("first attempt fails")
    context.set_progress(100, "all done")
    return "ok"


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A huey+sqlite URL in a fresh directory: one store every main() call shares."""
    return f"huey+sqlite:///{tmp_path / 'tasks.db'}"


@pytest.fixture
def bridge(url: str) -> Iterator[taskbridge.Bridge]:
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


def drain(bridge: taskbridge.Bridge) -> None:
    """Run every execution that is due here, through the one execution path, as a worker
    would (the stored envelope is the next attempt's)."""
    while True:
        due = [r.record.envelope for r in bridge.list(status={Status.PENDING, Status.RETRYING})
               if r.record.envelope is not None and (r.record.run_at or 0) <= time.time()]
        if not due:
            return
        for envelope in due:
            if envelope is not None:
                execute(bridge, envelope)


def failed_chain(bridge: taskbridge.Bridge, door: Path) -> taskbridge.Result:
    result = chain(add.using(bridge=bridge).s(1, 2), gate.s(str(door)), add.s(4)).enqueue()
    drain(bridge)
    assert result.refresh().status is Status.FAILED
    return result


def test_purge_says_how_many(
    url: str, bridge: taskbridge.Bridge, capsys: pytest.CaptureFixture[str]
) -> None:
    """taskbridge purge --older-than removes finished executions and says how many; without
    it, only those past their ttl; a negative age is a usage error."""
    for n in range(3):
        add.using(bridge=bridge).enqueue(n)
    waiting = add.using(bridge=bridge, delay=3600).enqueue(9)
    drain(bridge)
    assert run_json(capsys, "purge", "--url", url) == {"purged": 0}
    code, out, _ = run(capsys, "purge", "--older-than", "0", "--url", url)
    assert code == 0 and "purged 3 finished execution(s)" in out
    assert [r.id for r in bridge.list()] == [waiting.id]
    with pytest.raises(SystemExit) as exited:
        main(["purge", "--older-than", "-5", "--url", url])
    assert exited.value.code == 2


def test_failed_filters_and_discards(
    url: str, bridge: taskbridge.Bridge, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """failed --task/--queue narrow the list; --discard ID takes one off it, and inspect
    still shows the record."""
    result = failed_chain(bridge, tmp_path / "door")
    step_id = result.record.envelope.id  # type: ignore[union-attr]
    listed = {r["id"] for r in run_json(capsys, "failed", "--url", url)}
    assert listed == {result.id, step_id}
    assert [r["id"] for r in run_json(capsys, "failed", "--queue", "gates", "--url", url)] == [
        step_id]
    assert run_json(capsys, "failed", "--task", "cli_records.add", "--url", url) == []
    code, out, _ = run(capsys, "failed", "--discard", result.id, "--url", url)
    assert code == 0 and f"discarded {result.id}" in out
    assert run_json(capsys, "failed", "--url", url) == []
    assert run_json(capsys, "inspect", result.id, "--url", url)["discarded_at"] is not None
    code, _, err = run(capsys, "failed", "--discard", "no-such-id", "--url", url)
    assert code == 1 and "no-such-id" in err


def test_retry_all_resumes_failed_chains_and_exits_0(
    url: str, bridge: taskbridge.Bridge, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """failed --retry-all with a failed chain on the list (its record and its failing step)
    resumes the chain once and exits 0; the resumed chain then SUCCEEDS."""
    door = tmp_path / "door"
    result = failed_chain(bridge, door)
    door.touch()
    answer = run_json(capsys, "failed", "--retry-all", "--url", url)
    assert answer["errors"] == {} and set(answer["retried"]) == {
        result.id, result.record.envelope.id}  # type: ignore[union-attr]
    drain(bridge)
    again = bridge.get_result(answer["retried"][result.id])
    assert (again.status, again.value) == (Status.SUCCEEDED, 7)
    assert run_json(capsys, "failed", "--url", url) == []


def test_inspect_shows_the_progress_log_and_attempts(
    url: str, bridge: taskbridge.Bridge, capsys: pytest.CaptureFixture[str]
) -> None:
    """inspect lists each progress report and each attempt (outcome, worker, error); --json
    carries them as lists."""
    result = steps.using(bridge=bridge).enqueue()
    drain(bridge)
    assert result.refresh().status is Status.SUCCEEDED
    data = run_json(capsys, "inspect", result.id, "--url", url)
    assert [p["message"] for p in data["progress_log"]] == ["half way", "half way", "all done"]
    assert [a["outcome"] for a in data["attempt_history"]] == ["RETRYING", "SUCCEEDED"]
    code, out, _ = run(capsys, "inspect", result.id, "--url", url)
    assert code == 0 and "all done" in out
    assert "#1 RETRYING" in out and "ConnectionError: first attempt fails" in out
    assert "#2 SUCCEEDED" in out and "s CPU" in out


def test_purge_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    """taskbridge purge --help describes the command and its option."""
    with pytest.raises(SystemExit) as exited:
        main(["purge", "--help"])
    assert exited.value.code == 0 and "--older-than" in capsys.readouterr().out
