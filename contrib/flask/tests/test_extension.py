"""The extension: configuration from TASKBRIDGE_* keys, one bridge per app, the current app's
bridge inside its context."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import flask_app
import pytest
from flask import Flask
from taskbridge_flask import TaskBridge
from taskbridge_flask._config import setting_keys

import taskbridge
from taskbridge import ConfigurationError, Settings, Status


@pytest.fixture
def two_apps(tmp_path: Path) -> Iterator[tuple[Flask, Flask]]:
    """Two apps from one factory, each on its own SQLite backend."""
    apps = tuple(
        flask_app.create_app(LABEL=name, TASKBRIDGE_URL=f"huey+sqlite:///{tmp_path / name}.db")
        for name in ("first", "second")
    )
    yield apps  # type: ignore[misc]
    for app in apps:
        flask_app.tasks_ext.close(app)


def test_every_setting_has_a_config_key() -> None:
    """The keys are derived from Settings' fields, so a new setting needs no adapter change."""
    keys = setting_keys()
    assert {"TASKBRIDGE_URL", "TASKBRIDGE_IMPORTS", "TASKBRIDGE_DEFAULT_QUEUE",
            "TASKBRIDGE_ROUTES", "TASKBRIDGE_RESULT_TTL"} <= set(keys)
    assert len(keys) == len(Settings.__attrs_attrs__)  # type: ignore[attr-defined]


def test_config_keys_map_onto_settings(tmp_path: Path) -> None:
    """TASKBRIDGE_* keys become the app bridge's settings."""
    app = flask_app.create_app(
        TASKBRIDGE_URL="memory://", TASKBRIDGE_DEFAULT_QUEUE="web",
        TASKBRIDGE_ROUTES={"reports.*": "slow"}, TASKBRIDGE_RESULT_TTL=60,
        TASKBRIDGE_IMPORTS="flask_app, json",
    )
    with app.app_context():
        settings = flask_app.tasks_ext.bridge.settings
    assert settings.url == "memory://"
    assert settings.default_queue == "web"
    assert settings.routes == {"reports.*": "slow"}
    assert settings.result_ttl == 60
    assert settings.imports == ("flask_app", "json")
    flask_app.tasks_ext.close(app)


def test_config_beats_the_environment_which_beats_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """app.config over TASKBRIDGE_URL in the environment over huey+sqlite (CONTRACT §1)."""
    monkeypatch.setenv("TASKBRIDGE_URL", "memory://?namespace=from-env")
    from_env = flask_app.create_app()
    from_config = flask_app.create_app(TASKBRIDGE_URL="memory://?namespace=from-config")
    assert from_env.extensions["taskbridge"].settings.url == "memory://?namespace=from-env"
    assert from_config.extensions["taskbridge"].settings.url == "memory://?namespace=from-config"
    monkeypatch.delenv("TASKBRIDGE_URL")
    assert flask_app.create_app().extensions["taskbridge"].settings.url == (
        "huey+sqlite:///taskbridge.db"
    )


def test_a_mistyped_key_is_refused_at_init_naming_the_known_ones() -> None:
    """An unknown TASKBRIDGE_* key raises ConfigurationError in init_app, listing the keys."""
    with pytest.raises(ConfigurationError, match=r"TASKBRIDGE_RESULTTTL.*TASKBRIDGE_RESULT_TTL"):
        flask_app.create_app(TASKBRIDGE_RESULTTTL=5)


def test_a_bad_value_is_refused_at_init() -> None:
    """A bad setting value fails when the app is created, not on the first enqueue."""
    with pytest.raises(ConfigurationError, match="default_queue"):
        flask_app.create_app(TASKBRIDGE_DEFAULT_QUEUE="no spaces allowed")


def test_state_lives_in_app_extensions_and_not_on_the_extension() -> None:
    """init_app keeps its state in app.extensions['taskbridge']; the extension keeps no app."""
    ext = TaskBridge()
    app = Flask("plain")
    app.config["TASKBRIDGE_URL"] = "memory://"
    ext.init_app(app)
    assert "taskbridge" in app.extensions
    assert app not in vars(ext).values()
    with pytest.raises(RuntimeError, match="already initialised"):
        ext.init_app(app)


def test_creating_an_app_opens_no_backend(tmp_path: Path) -> None:
    """The bridge is opened on first use: creating the app touches no database."""
    app = flask_app.create_app(TASKBRIDGE_URL=f"huey+sqlite:///{tmp_path / 'lazy.db'}")
    assert not (tmp_path / "lazy.db").exists()
    with app.app_context():
        assert flask_app.tasks_ext.bridge.url.engine == "huey"
    flask_app.tasks_ext.close(app)


def test_several_apps_each_keep_their_own_bridge(two_apps: tuple[Flask, Flask]) -> None:
    """Inside each app's context, tasks_ext.bridge and task.enqueue() use that app's bridge."""
    first, second = two_apps
    with first.app_context():
        one = flask_app.whoami.enqueue()
        first_bridge = flask_app.tasks_ext.bridge
        assert taskbridge.get_bridge() is first_bridge
    with second.app_context():
        two = flask_app.whoami.enqueue()
        second_bridge = flask_app.tasks_ext.bridge
    assert first_bridge is not second_bridge
    assert [r.id for r in first_bridge.list()] == [one.id]
    assert [r.id for r in second_bridge.list()] == [two.id]


def test_a_request_enqueues_on_its_apps_bridge(two_apps: tuple[Flask, Flask]) -> None:
    """A view's task.enqueue() goes to the app serving the request."""
    first, second = two_apps
    sent = second.test_client().post("/whoami").get_json()["id"]
    with second.app_context():
        assert flask_app.tasks_ext.bridge.get_result(sent).status is Status.PENDING
    with first.app_context():
        assert flask_app.tasks_ext.bridge.list() == []


def test_outside_an_app_context_the_bridge_is_an_error_saying_why() -> None:
    """tasks_ext.bridge outside any app context raises, saying where it works."""
    with pytest.raises(RuntimeError, match="application context"):
        _ = flask_app.tasks_ext.bridge


def test_an_app_without_the_extension_is_named() -> None:
    """In the context of an app that never called init_app, the error names the app."""
    with Flask("bare").app_context(), pytest.raises(RuntimeError, match=r"'bare'.*init_app"):
        _ = flask_app.tasks_ext.bridge
