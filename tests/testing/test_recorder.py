"""The hook recorder, in this process and through a worker process's JSON-lines log."""

from __future__ import annotations

from pathlib import Path

import pytest

import taskbridge
from taskbridge.testing.recorder import (
    ENV_HOOK_LOG,
    HookRecorder,
    install_from_environment,
    read_hook_log,
    recording_hooks,
)


@taskbridge.task(name="recorder.works")
def works() -> int:
    return 1


def run_all(bridge: taskbridge.Bridge) -> None:
    bridge.backend.run_pending(bridge, ignore_delays=True)  # type: ignore[attr-defined]


def test_recording_hooks_sees_every_event_of_the_block() -> None:
    """recording_hooks() records (hook, id, status) while the block runs, and nothing after."""
    bridge = taskbridge.Bridge("memory://")
    with recording_hooks() as recorder:
        result = works.using(bridge=bridge).enqueue()
        run_all(bridge)
    works.using(bridge=bridge).enqueue()
    assert recorder.of(result.id) == ["enqueued", "started", "succeeded"]
    assert recorder.events[-1] == ("succeeded", result.id, "SUCCEEDED")
    assert len(recorder.events) == 3
    bridge.close()


def test_a_recorder_with_a_path_writes_what_read_hook_log_reads(tmp_path: Path) -> None:
    """Events recorded with a path are appended as JSON lines that read_hook_log returns."""
    log = tmp_path / "hooks.jsonl"
    bridge = taskbridge.Bridge("memory://")
    with recording_hooks(log) as recorder:
        works.using(bridge=bridge).enqueue()
    assert read_hook_log(log) == recorder.events
    assert read_hook_log(tmp_path / "missing.jsonl") == []
    bridge.close()


def test_install_from_environment_registers_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker's tasks module installs one file-backed recorder when the variable is set."""
    from taskbridge._plugins import plugin_manager

    monkeypatch.delenv(ENV_HOOK_LOG, raising=False)
    assert install_from_environment() is None
    monkeypatch.setenv(ENV_HOOK_LOG, str(tmp_path / "hooks.jsonl"))
    first = install_from_environment()
    try:
        assert isinstance(first, HookRecorder) and first.path == tmp_path / "hooks.jsonl"
        assert install_from_environment() is first
    finally:
        plugin_manager().unregister(first)
