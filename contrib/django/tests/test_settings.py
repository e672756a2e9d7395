"""settings.TASKBRIDGE onto the core's settings (CONTRACT §1 precedence), the bridge built from
it, autodiscovery, and misconfiguration reported by ``manage.py check`` with ids and hints."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import checks
from django.test import override_settings
from taskbridge_django.checks import check_settings
from taskbridge_django.conf import make_bridge, read, with_store
from taskbridge_django.store import DjangoStore

import taskbridge
from taskbridge import ConfigurationError
from taskbridge._bridge import set_bridge
from taskbridge.plugin import registered_tasks


def ids(messages: list[Any]) -> list[str]:
    return [message.id for message in messages]


def test_keys_map_onto_the_core_settings() -> None:
    """Every core key, upper-cased, reaches the bridge's settings."""
    with override_settings(TASKBRIDGE={
        "URL": "memory://", "IMPORTS": ["testapp.tasks"], "ROUTES": {"testapp.*": "slow"},
        "DEFAULT_QUEUE": "normal", "RESULT_TTL": 60, "IDEMPOTENCY_TTL": 30,
    }):
        bridge = make_bridge()
    try:
        settings = bridge.settings
        assert settings.imports == ("testapp.tasks",) and settings.routes == {"testapp.*": "slow"}
        assert (settings.default_queue, settings.result_ttl, settings.idempotency_ttl) == (
            "normal", 60, 30)
        assert bridge.route("testapp.tasks.add") == "slow"
        assert isinstance(bridge.store, DjangoStore) and bridge.store.alias == "default"
    finally:
        bridge.close()


def test_the_store_defaults_to_django_and_the_url_may_name_its_own() -> None:
    """STORE is added to the URL as ?store=, unless the URL names one or STORE is None."""
    assert with_store("rq+redis://h:6379/0", "django") == "rq+redis://h:6379/0?store=django"
    assert with_store("memory://?namespace=a", "django:pg") == "memory://?namespace=a&store=django:pg"
    assert with_store("memory://?store=memory://", "django") == "memory://?store=memory://"
    assert with_store("memory://", None) == "memory://"


def test_settings_win_over_the_environment_and_configure_wins_over_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """TASKBRIDGE_URL applies when the settings name no URL; settings win over it; an
    explicit taskbridge.configure() wins over both."""
    monkeypatch.setenv("TASKBRIDGE_URL", "memory://?namespace=fromenv")
    with override_settings(TASKBRIDGE={"STORE": None}):
        assert read().core.url == "memory://?namespace=fromenv"
    with override_settings(TASKBRIDGE={"URL": "memory://?namespace=fromsettings"}):
        assert read().url() == "memory://?namespace=fromsettings&store=django"
        explicit = taskbridge.configure("memory://?namespace=explicit")
        try:
            assert taskbridge.get_bridge() is explicit
        finally:
            set_bridge(None)
            explicit.close()


def test_tasks_modules_of_installed_apps_are_imported() -> None:
    """testapp/tasks.py was imported by autodiscovery: its tasks are registered."""
    assert "testapp.tasks.add" in registered_tasks()


@pytest.mark.parametrize(("setting", "expected"), [
    ({"URL": "nosuch+redis://localhost"}, "taskbridge.E002"),
    ({"URL": "not a url"}, "taskbridge.E002"),
    ({"UNKNOWN": 1}, "taskbridge.E001"),
    ({"RESULT_TTL": -1}, "taskbridge.E001"),
    ({"ROUTES": {"a.*": "bad queue!"}}, "taskbridge.E001"),
    ({"DASHBOARD_PERMISSION": "no-dot"}, "taskbridge.E001"),
    ({"STORE": "django:nosuch"}, "taskbridge.E003"),
    ({"STORE": "nosuch://x"}, "taskbridge.E003"),
    ({"IMPORTS": ["no.such.module"]}, "taskbridge.E004"),
    ({"ENQUEUE_ON_COMMIT": "nosuch"}, "taskbridge.E005"),
])
def test_misconfiguration_is_a_system_check_error_with_a_hint(
    setting: dict[str, Any], expected: str
) -> None:
    """Each mistake is reported by the check framework with its id and a hint."""
    with override_settings(TASKBRIDGE={"URL": "memory://", **setting}):
        found = check_settings()
    assert expected in ids(found), found
    assert all(message.hint for message in found if message.id != "taskbridge.E001")


def test_a_good_configuration_passes_the_checks() -> None:
    """The test project's own settings raise nothing."""
    assert check_settings() == []
    assert [m for m in checks.run_checks(tags=["taskbridge"]) if m.level >= checks.WARNING] == []


def test_sqlite_without_immediate_transactions_is_a_warning() -> None:
    """The Django store on SQLite in deferred mode: W001 saying what to set."""
    from django.db import connections

    options = connections.settings["default"]["OPTIONS"]
    saved = dict(options)
    options.pop("transaction_mode", None)
    try:
        found = check_settings()
    finally:
        options.clear()
        options.update(saved)
    assert ids(found) == ["taskbridge.W001"] and "IMMEDIATE" in found[0].hint


def test_a_broken_setting_is_a_configuration_error_naming_the_key() -> None:
    """read() names settings.TASKBRIDGE and the key at fault."""
    with override_settings(TASKBRIDGE={"ENQUEUE_ON_COMMIT": 3}), pytest.raises(
        ConfigurationError, match="ENQUEUE_ON_COMMIT"
    ):
        read()
