"""Plugins: engine resolution, missing-engine errors, the logging plugin."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from taskbridge import (
    BackendNotFound,
    Bridge,
    ConfigurationError,
    RetryPolicy,
    Status,
    hookimpl,
    task,
)
from taskbridge._config import BackendURL
from taskbridge._memory import MemoryBackend
from taskbridge._plugins import create_backend, installed_engines, plugin_manager

from .conftest import run_all


class ThirdPartyBackend(MemoryBackend):
    """A backend as a third party would ship it: it remembers the URL it was built from."""

    engine = "thirdparty"
    url_options: ClassVar[frozenset[str]] = frozenset({"opt"})

    def __init__(self, url: BackendURL | None = None) -> None:
        super().__init__(url)
        self.url = url


class ThirdPartyPlugin:
    @hookimpl
    def taskbridge_backends(self) -> dict[str, Any]:
        return {"thirdparty": ThirdPartyBackend}


def test_memory_is_installed_through_the_entry_point() -> None:
    """memory:// is provided by the core's own plugin, found like any other."""
    assert installed_engines()["memory"] is MemoryBackend
    assert isinstance(create_backend(BackendURL.parse("memory://"))[0], MemoryBackend)


def test_a_registered_plugin_provides_its_engine(
    register_plugin: Callable[[object], None],
) -> None:
    """An engine from a plugin works as soon as the plugin is registered, with its parsed URL."""
    register_plugin(ThirdPartyPlugin())
    bridge = Bridge("thirdparty+redis://somewhere:6379/3?opt=1")
    assert isinstance(bridge.backend, ThirdPartyBackend)
    assert bridge.backend.url is not None
    assert bridge.backend.url.transport_url == "redis://somewhere:6379/3"
    assert bridge.backend.url.options == {"opt": "1"}


def test_an_unknown_engine_names_the_installed_ones() -> None:
    """An engine nobody provides is BackendNotFound listing installed engines and the fix."""
    with pytest.raises(BackendNotFound) as caught:
        Bridge("nosuch+redis://:s3cret@host/0")
    message = str(caught.value)
    assert "'nosuch'" in message and "memory" in message
    assert "'taskbridge' entry-point group" in message
    assert "s3cret" not in message
    assert isinstance(caught.value, ConfigurationError)


@pytest.fixture
def without_engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """Hide an installed engine plugin (if any) for one test, then put it back."""
    engine: str = request.param
    manager = plugin_manager()
    hidden = manager.unregister(name=engine) if manager.get_plugin(engine) else None
    yield engine
    if hidden is not None:
        manager.register(hidden, name=engine)


@pytest.mark.parametrize(
    ("without_engine", "distribution"),
    [("huey", "taskbridge-huey"), ("rq", "taskbridge-rq"), ("celery", "taskbridge-celery")],
    indirect=["without_engine"],
)
def test_our_engines_say_what_to_pip_install(without_engine: str, distribution: str) -> None:
    """A missing huey/rq/celery plugin is BackendNotFound with the pip install line."""
    if without_engine in installed_engines():
        pytest.skip(f"{without_engine} is provided by a plugin not registered under its name")
    with pytest.raises(BackendNotFound, match=f"pip install {distribution}") as caught:
        Bridge(f"{without_engine}+redis://localhost:6379/0")
    assert "installed engines: " in str(caught.value)


def test_the_logging_plugin_logs_every_lifecycle_event_with_the_id(
    bridge: Bridge, caplog: pytest.LogCaptureFixture
) -> None:
    """Enqueued, started, retrying, failed, succeeded and canceled are logged with the id."""

    @task(name="plugins.fails", retry=RetryPolicy(max_attempts=2, backoff=0))
    def fails() -> None:
        raise RuntimeError("nope")

    @task(name="plugins.works")
    def works() -> int:
        return 1

    caplog.set_level(logging.INFO, logger="taskbridge")
    failed = fails.using(bridge=bridge).enqueue()
    succeeded = works.using(bridge=bridge).enqueue()
    canceled = works.using(bridge=bridge).enqueue()
    canceled.cancel()
    run_all(bridge)

    def logged(id: str) -> list[str]:
        return [r.getMessage().split()[0] for r in caplog.records if f"[{id}]" in r.getMessage()]

    assert logged(failed.id) == ["enqueued", "started", "retrying", "started", "failed"]
    assert logged(succeeded.id) == ["enqueued", "started", "succeeded"]
    assert logged(canceled.id) == ["enqueued", "canceled"]
    [failure] = [r for r in caplog.records if r.getMessage().startswith("failed")]
    assert failure.levelno == logging.WARNING and "RuntimeError: nope" in failure.getMessage()


ENGINE_MODULES = ("huey", "rq", "celery", "kombu", "redis")


def _engines_imported(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter; the engine libraries it imported."""
    report = f"print('engines:' + ','.join(m for m in {ENGINE_MODULES!r} if m in sys.modules))"
    probe = f"{code}\nimport sys\n{report}"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=60, check=True)
    line = run.stdout.rpartition("engines:")[2].strip()
    return [m for m in line.split(",") if m]


def test_a_memory_bridge_imports_no_engine() -> None:
    """Configuring memory:// leaves every engine library out of sys.modules."""
    assert _engines_imported("import taskbridge; taskbridge.Bridge('memory://')") == []


def test_one_engine_leaves_the_others_unimported(tmp_path: Path) -> None:
    """A bridge on one engine imports that engine only, not the other installed ones."""
    if "huey" not in installed_engines():
        pytest.skip("taskbridge-huey is not installed")
    code = f"import taskbridge; taskbridge.Bridge('huey+sqlite:///{tmp_path}/t.db')"
    assert not {"rq", "celery", "kombu"} & set(_engines_imported(code))


def test_the_command_line_help_imports_no_engine() -> None:
    """`taskbridge --help` loads the plugins but none of the engines they provide."""
    code = "import contextlib\nfrom taskbridge.cli import main\n" + (
        "with contextlib.suppress(SystemExit):\n    main(['--help'])"
    )
    assert _engines_imported(code) == []


@pytest.mark.parametrize(("url", "suggested"), [
    ("redis://localhost:6379/0", ["rq+redis://localhost:6379/0",
                                  "celery+redis://localhost:6379/0",
                                  "huey+redis://localhost:6379/0"]),
    ("redis://:s3cret@host/1", ["rq+redis://:***@host/1"]),
    ("amqp://guest@host:5672//", ["celery+amqp://guest@host:5672//"]),
])
def test_a_transport_given_as_the_engine_suggests_the_engines(
    url: str, suggested: list[str]
) -> None:
    """redis:// (a transport, not an engine) is a BackendNotFound suggesting rq+redis://,
    celery+redis:// and huey+redis:// with the rest of the URL, password hidden."""
    with pytest.raises(BackendNotFound, match="names a transport, not an engine") as caught:
        Bridge(url)
    for choice in suggested:
        assert f"'{choice}'" in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_the_retry_log_line_gives_the_error_the_delay_and_the_next_run(
    bridge: Bridge, caplog: pytest.LogCaptureFixture
) -> None:
    """The "retrying" line says which attempt of how many failed and why, how long until the
    next one and when (its run_at)."""

    @task(name="plugins.retries_later", retry=RetryPolicy(max_attempts=3, backoff=90))
    def retries_later() -> None:
        raise ConnectionError("mail server down")

    caplog.set_level(logging.INFO, logger="taskbridge")
    result = retries_later.using(bridge=bridge).enqueue()
    bridge.drive()
    run_at = result.refresh().run_at
    assert result.status is Status.RETRYING and run_at is not None
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retrying")]
    assert f"[{result.id}] after attempt 1 of 3 (ConnectionError: mail server down)" in line
    delay = float(line.split(" in ")[1].split("s,")[0])
    assert 88 <= delay <= 90
    assert line.endswith(f"at {run_at.isoformat(timespec='seconds')}")
