"""CONTRACT §1: one URL picks the backend; sources of settings; engine resolution errors."""

from __future__ import annotations

import pytest

import taskbridge
from taskbridge import Bridge, ConfigurationError, Settings
from taskbridge._bridge import set_bridge
from taskbridge._plugins import installed_engines
from taskbridge.testing.conformance.harness import HEARTBEAT, Harness
from taskbridge.testing.conformance.tasks import add


def test_engine_is_chosen_by_url(backend: Harness) -> None:
    """The URL's engine part selects the backend the bridge uses."""
    assert backend.bridge.backend.engine == backend.engine
    assert backend.engine in installed_engines()


def test_unknown_engine_names_installed_engines(backend: Harness) -> None:
    """An unknown engine is a ConfigurationError that lists the engines installed."""
    with pytest.raises(ConfigurationError) as caught:
        Bridge("nosuchengine+redis://127.0.0.1:6379/0")
    message = str(caught.value)
    assert "nosuchengine" in message
    assert backend.engine in message
    assert "memory" in message


@pytest.mark.parametrize("url", ["", "no-scheme-here", "Bad Engine://x", "huey+re dis://x",
                                 "rq+redis://host:notaport/0"])
def test_malformed_url_is_configuration_error(url: str) -> None:
    """A malformed URL is a ConfigurationError that quotes it."""
    with pytest.raises(ConfigurationError, match="URL"):
        Bridge(url)


def test_configure_sets_the_default_bridge(backend: Harness) -> None:
    """configure(url=...) sets the process's default bridge, which get_bridge returns."""
    previous = set_bridge(None)  # configure closes the default it replaces; keep ours open
    try:
        configured = taskbridge.configure(url=backend.url, heartbeat_interval=HEARTBEAT)
        try:
            assert taskbridge.get_bridge() is configured
            assert configured.url.engine == backend.engine
        finally:
            configured.close()
    finally:
        set_bridge(previous)


def test_using_bridge_targets_another_bridge(backend: Harness) -> None:
    """task.using(bridge=other) enqueues through that bridge, not the default one."""
    other = backend.other_bridge()
    result = add.using(bridge=other).enqueue(20, 22)
    assert result.bridge is other
    assert backend.finish(result).value == 42


def test_environment_url_is_below_explicit(monkeypatch: pytest.MonkeyPatch) -> None:
    """TASKBRIDGE_URL is used when no URL is given, and an explicit URL wins over it."""
    monkeypatch.setenv("TASKBRIDGE_URL", "rq+redis://envhost:6379/0")
    assert Settings.resolve().url == "rq+redis://envhost:6379/0"
    assert Settings.resolve(framework={"URL": "huey+sqlite:///f.db"}).url == "huey+sqlite:///f.db"
    assert Settings.resolve(url="memory://", framework={"URL": "x+y://z"}).url == "memory://"


def test_default_url_is_huey_on_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without any configuration the URL is the embedded default, Huey on SQLite."""
    monkeypatch.delenv("TASKBRIDGE_URL", raising=False)
    assert Settings.resolve().url == "huey+sqlite:///taskbridge.db"


def test_settings_reach_the_bridge(backend: Harness) -> None:
    """Other settings (default queue, TTLs, routes) are applied to the bridge."""
    bridge = Bridge(backend.url, default_queue="conformance-other", idempotency_ttl=60,
                    routes={"conformance.echo*": "conformance-routed"})
    try:
        assert bridge.route("conformance.add") == "conformance-other"
        assert bridge.route("conformance.echo") == "conformance-routed"
        assert bridge.settings.idempotency_ttl == 60
    finally:
        if bridge is not backend.bridge:
            bridge.close()


def test_unknown_setting_is_configuration_error() -> None:
    """A misspelt setting is refused with the list of known ones."""
    with pytest.raises(ConfigurationError, match="default_queue"):
        Settings.resolve(url="memory://", default_qeue="x")
