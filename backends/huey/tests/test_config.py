"""URLs, capabilities and plugin registration of the Huey backend."""

from __future__ import annotations

from pathlib import Path

import hueytasks
import pytest
from huey_testkit import sqlite_url
from taskbridge_huey import HueyBackend
from taskbridge_huey.backend import sqlite_path

from taskbridge import Bridge, ConfigurationError, TaskFailed, UnsupportedFeature
from taskbridge.plugin import DEFAULT_URL, BackendURL, engine_factory
from taskbridge.testing.workers import Workers


def test_engine_is_registered_through_the_entry_point() -> None:
    """Installing taskbridge-huey makes the engine 'huey' resolvable by URL."""
    assert engine_factory("huey") is HueyBackend


def test_sqlite_paths_relative_and_absolute() -> None:
    """Three slashes give a path relative to the working directory, four an absolute one."""
    assert sqlite_path(BackendURL.parse("huey+sqlite:///rel/tasks.db")) == Path("rel/tasks.db")
    assert sqlite_path(BackendURL.parse("huey+sqlite:////abs/tasks.db")) == Path("/abs/tasks.db")
    with pytest.raises(ConfigurationError, match="no host"):
        sqlite_path(BackendURL.parse("huey+sqlite://host/tasks.db"))


def test_default_url_needs_no_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The library default, huey+sqlite:///taskbridge.db, works with nothing but a directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TASKBRIDGE_URL", raising=False)
    bridge = Bridge(imports=["hueytasks"])
    try:
        assert bridge.url.raw == DEFAULT_URL
        hueytasks.add.using(bridge=bridge).enqueue(1, 2)
        assert bridge.backend.queue_depth("default") == 1
        assert (tmp_path / "taskbridge.db").exists()
    finally:
        bridge.close()


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("huey+postgres://db/x", "sqlite' or 'redis"),
        ("huey+sqlite:///x.db?colour=red", "unknown option"),
        ("huey+sqlite:///x.db?pool=gevent", "pool='gevent'"),
        ("huey+sqlite:///x.db?namespace=a:b", "namespace"),
    ],
)
def test_bad_urls_say_what_to_do(url: str, complaint: str) -> None:
    """A URL the backend cannot use is a ConfigurationError naming the problem."""
    with pytest.raises(ConfigurationError, match=complaint):
        Bridge(url)


def test_thread_mode_refuses_timeouts(tmp_path: Path) -> None:
    """With thread workers (the default) a task timeout cannot be enforced, so it is refused."""
    bridge = Bridge(sqlite_url(tmp_path), imports=["hueytasks"])
    try:
        assert not bridge.capabilities.timeouts
        assert HueyBackend.pools["process"].timeouts
        with pytest.raises(UnsupportedFeature, match="pool=process"):
            hueytasks.too_long.using(bridge=bridge).enqueue()
    finally:
        bridge.close()


@pytest.mark.slow
def test_process_workers_enforce_timeouts(tmp_path: Path, workers: Workers) -> None:
    """With ?pool=process, forked workers stop an attempt at its timeout: FAILED, TaskTimeout."""
    bridge = Bridge(sqlite_url(tmp_path, pool="process"), imports=["hueytasks"])
    try:
        result = hueytasks.too_long.using(bridge=bridge).enqueue()
        quick = hueytasks.add.using(bridge=bridge).enqueue(5, 5)
        workers.start(bridge.url.raw, concurrency=2)
        assert quick.wait(timeout=20) == 10
        with pytest.raises(TaskFailed) as failure:
            result.wait(timeout=20)
        assert failure.value.error.type.endswith("TaskTimeout")
    finally:
        bridge.close()


@pytest.mark.slow
def test_process_workers_measure_each_attempts_cpu_and_peak_memory(
    tmp_path: Path, workers: Workers
) -> None:
    """In Huey's process pool each attempt's history entry has its own CPU time and peak
    resident memory, measured in the process that ran it, two attempts running at once."""
    bridge = Bridge(sqlite_url(tmp_path, pool="process"), imports=["hueytasks"])
    try:
        big = hueytasks.hold.using(bridge=bridge).enqueue(96, 0.4)
        small = hueytasks.hold.using(bridge=bridge).enqueue(8, 0.1)
        workers.start(bridge.url.raw, concurrency=2)
        big.wait(timeout=30)
        small.wait(timeout=30)
        [heavy] = big.refresh().attempt_history
        [light] = small.refresh().attempt_history
        assert heavy.cpu_time is not None and heavy.cpu_time >= 0.35
        assert light.cpu_time is not None and 0.08 <= light.cpu_time < heavy.cpu_time
        assert heavy.peak_memory is not None and heavy.peak_memory >= 96 * 1024 * 1024
        assert light.peak_memory is not None and light.peak_memory < heavy.peak_memory
    finally:
        bridge.close()
