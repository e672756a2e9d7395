"""Configuration: backend URL parsing and redaction, settings precedence, queues, routes."""

from __future__ import annotations

import string
import threading
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from taskbridge import Bridge, ConfigurationError, InvalidTaskOptions, Settings
from taskbridge._config import (
    DEFAULT_URL,
    ENV_URL,
    BackendURL,
    check_queue,
    env_variable,
    sqlite_files,
)


@pytest.mark.parametrize(
    ("url", "engine", "transport", "transport_url", "options"),
    [
        ("memory://", "memory", None, "", {}),
        ("huey+sqlite:///taskbridge.db", "huey", "sqlite", "sqlite:///taskbridge.db", {}),
        ("huey+sqlite:///path/to/tasks.db", "huey", "sqlite", "sqlite:///path/to/tasks.db", {}),
        ("huey+sqlite:////abs/tasks.db", "huey", "sqlite", "sqlite:////abs/tasks.db", {}),
        ("huey+redis://host:6379/0", "huey", "redis", "redis://host:6379/0", {}),
        ("rq+redis://localhost:6379/2", "rq", "redis", "redis://localhost:6379/2", {}),
        ("celery+redis://:pw@host:6379/0", "celery", "redis", "redis://:pw@host:6379/0", {}),
        (
            "celery+amqp://user:pw@host:5672//?store=redis://r:6379/1",
            "celery", "amqp", "amqp://user:pw@host:5672//", {"store": "redis://r:6379/1"},
        ),
        ("mybackend+redis://h/0?a=1&b=", "mybackend", "redis", "redis://h/0", {"a": "1", "b": ""}),
    ],
)
def test_every_documented_url_form_parses(
    url: str, engine: str, transport: str | None, transport_url: str, options: dict[str, str]
) -> None:
    """Each CONTRACT §1 URL splits into engine, transport, the engine's own URL, and options."""
    parsed = BackendURL.parse(url)
    assert (parsed.engine, parsed.transport) == (engine, transport)
    assert parsed.transport_url == transport_url
    assert parsed.options == options
    assert parsed.raw == url


def test_sqlite_paths_keep_relative_and_absolute_apart() -> None:
    """Three slashes and four slashes give different sqlite paths after parsing."""
    from urllib.parse import urlsplit

    relative = urlsplit(BackendURL.parse("huey+sqlite:///tasks.db").transport_url)
    absolute = urlsplit(BackendURL.parse("huey+sqlite:////var/tasks.db").transport_url)
    assert (relative.netloc, relative.path) == ("", "/tasks.db")
    assert (absolute.netloc, absolute.path) == ("", "//var/tasks.db")


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("rq+redis://:s3cret@host:6379/0", "rq+redis://:***@host:6379/0"),
        ("celery+amqp://user:pw@host:5672//", "celery+amqp://user:***@host:5672//"),
        (
            "celery+amqp://u:pw@h:5672//?store=redis://:other@r:6379/1",
            "celery+amqp://u:***@h:5672//?store=redis://:***@r:6379/1",
        ),
        ("huey+redis://host:6379/0", "huey+redis://host:6379/0"),
        ("huey+sqlite:///tasks.db", "huey+sqlite:///tasks.db"),
    ],
)
def test_passwords_are_redacted(url: str, redacted: str) -> None:
    """redacted() hides every password, including one in ?store=."""
    assert BackendURL.parse(url).redacted() == redacted


passwords = st.text(string.ascii_letters + string.digits + "-._~%!$&'()*+,;=", min_size=1)


@given(st.text(string.ascii_lowercase, max_size=8), passwords)
def test_no_password_survives_redaction(user: str, password: str) -> None:
    """Whatever the password, redacted() and repr(Bridge)-style output never contain it."""
    marked = f"PW{password}"
    parsed = BackendURL.parse(f"rq+redis://{user}:{marked}@host:6379/0")
    assert marked not in parsed.redacted()


@pytest.mark.parametrize(
    "url",
    [
        "",
        "memory",
        "redis:/host",
        "Huey+redis://host/0",
        "huey+://host/0",
        "+redis://host/0",
        "1huey://x",
        "huey+redis+extra://host/0",
        "huey\n+redis://host/0",
        "huey+redis://host:notaport/0",
        "huey+redis://host:99999/0",
        None,
        42,
    ],
)
def test_malformed_urls_are_configuration_errors(url: object) -> None:
    """A URL that is not ENGINE[+TRANSPORT]://... raises ConfigurationError with an example."""
    with pytest.raises(ConfigurationError, match="backend URL"):
        BackendURL.parse(url)  # type: ignore[arg-type]


def test_malformed_url_errors_do_not_leak_the_password() -> None:
    """The error for a malformed URL shows it with the password redacted."""
    with pytest.raises(ConfigurationError) as caught:
        BackendURL.parse("rq+redis://:s3cret@host:notaport/0")
    assert "s3cret" not in str(caught.value)
    assert ":***@host" in str(caught.value)


def test_bridge_repr_is_redacted() -> None:
    """A bridge's repr never shows its password."""
    bridge = Bridge("memory://user:s3cret@nowhere")
    assert "s3cret" not in repr(bridge)


# -- settings -------------------------------------------------------------------------------


def test_default_url_applies_without_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    """With nothing configured the URL is the embedded Huey/SQLite default."""
    monkeypatch.delenv(ENV_URL, raising=False)
    assert Settings.resolve().url == DEFAULT_URL == "huey+sqlite:///taskbridge.db"


def test_precedence_explicit_framework_environment_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """explicit > framework settings > TASKBRIDGE_URL > default."""
    monkeypatch.setenv(ENV_URL, "rq+redis://env:6379/0")
    framework = {"URL": "celery+redis://framework:6379/0"}
    assert Settings.resolve().url == "rq+redis://env:6379/0"
    assert Settings.resolve(framework=framework).url == "celery+redis://framework:6379/0"
    assert Settings.resolve(url="memory://", framework=framework).url == "memory://"
    monkeypatch.setenv(ENV_URL, "")
    assert Settings.resolve().url == DEFAULT_URL


def test_explicit_settings_beat_framework_settings() -> None:
    """Keyword settings override the framework's, and None means 'not given'."""
    framework = {"DEFAULT_QUEUE": "framework", "ROUTES": {"a.*": "x"}}
    settings = Settings.resolve(framework=framework, default_queue="explicit", routes=None)
    assert settings.default_queue == "explicit"
    assert settings.routes == {"a.*": "x"}


@pytest.mark.parametrize(
    ("overrides", "framework"),
    [({"colour": "blue"}, None), ({}, {"BROKER": "x"})],
)
def test_unknown_settings_are_errors(
    overrides: dict[str, object], framework: dict[str, object] | None
) -> None:
    """An unknown setting is a ConfigurationError listing the known ones."""
    with pytest.raises(ConfigurationError, match=r"unknown setting.*known: .*default_queue"):
        Settings.resolve(framework=framework, **overrides)


@pytest.mark.parametrize(
    "options",
    [
        {"default_queue": "has space"},
        {"routes": {"reports.*": "bad queue!"}},
        {"routes": {3: "slow"}},
        {"result_ttl": 0},
        {"idempotency_ttl": -1},
        {"heartbeat_interval": float("nan")},
        {"heartbeat_interval": "5"},
        {"result_ttl": True},
    ],
)
def test_bad_settings_are_configuration_errors(options: dict[str, object]) -> None:
    """A bad setting value raises ConfigurationError naming the setting."""
    with pytest.raises(ConfigurationError) as caught:
        Settings(**options)  # type: ignore[arg-type]
    assert next(iter(options)).rstrip("s") in str(caught.value) or "pattern" in str(caught.value)


def test_imports_accept_a_string_or_a_list() -> None:
    """imports= takes a comma/space separated string or a sequence of module names."""
    assert Settings(imports="a.tasks, b.tasks c").imports == ("a.tasks", "b.tasks", "c")
    assert Settings(imports=["x"]).imports == ("x",)


@pytest.mark.parametrize("name", ["default", "a", "emails.high", "x-y_z", "9", "q" * 100])
def test_valid_queue_names(name: str) -> None:
    """Letters, digits, '_', '.', '-' up to 100 characters make a queue name."""
    assert check_queue(name) == name


@pytest.mark.parametrize(
    "name", ["", " ", "a b", "-a", ".a", "q" * 101, "default\n", "é", "a/b", None, 5]
)
def test_invalid_queue_names(name: object) -> None:
    """Anything else is InvalidTaskOptions saying what a queue name may contain."""
    with pytest.raises(InvalidTaskOptions, match="queue name"):
        check_queue(name)


@given(st.text(max_size=120))
def test_accepted_queue_names_are_plain(name: str) -> None:
    """Every name check_queue accepts is 1-100 ASCII letters, digits, '_', '.', '-'."""
    allowed = set(string.ascii_letters + string.digits + "_.-")
    try:
        check_queue(name)
    except InvalidTaskOptions:
        return
    assert 1 <= len(name) <= 100 and set(name) <= allowed


def test_routes_pick_the_first_matching_pattern() -> None:
    """Routes map task-name globs to queues, first match wins, else the default queue."""
    bridge = Bridge(
        "memory://", routes={"reports.daily": "daily", "reports.*": "slow"}, default_queue="main"
    )
    assert bridge.route("reports.daily") == "daily"
    assert bridge.route("reports.weekly") == "slow"
    assert bridge.route("emails.send") == "main"


# -- environment variables --------------------------------------------------------------------


def test_every_setting_has_an_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """TASKBRIDGE_<SETTING> sets each setting: lists comma-separated, mappings as JSON."""
    values = {
        "TASKBRIDGE_URL": "memory://",
        "TASKBRIDGE_IMPORTS": "json, os.path,,string",
        "TASKBRIDGE_DEFAULT_QUEUE": "main",
        "TASKBRIDGE_RESULT_TTL": "3600",
        "TASKBRIDGE_IDEMPOTENCY_TTL": "60.5",
        "TASKBRIDGE_ROUTES": '{"reports.*": "slow"}',
        "TASKBRIDGE_HEARTBEAT_INTERVAL": "2",
        "TASKBRIDGE_FAILED_TTL": "86400",
        "TASKBRIDGE_MAX_PAYLOAD": "2048",
        "TASKBRIDGE_UNSENT_GRACE": "45",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = Settings.resolve()
    assert settings == Settings(
        url="memory://", imports=("json", "os.path", "string"), default_queue="main",
        result_ttl=3600.0, idempotency_ttl=60.5, routes={"reports.*": "slow"},
        heartbeat_interval=2.0, failed_ttl=86400.0, max_payload=2048, unsent_grace=45.0,
    )
    names = {env_variable(field.name) for field in attrs.fields(Settings)}
    assert names == set(values), "a setting without its variable, or a variable too many"
    assert Settings.resolve(default_queue="explicit").default_queue == "explicit"


@pytest.mark.parametrize(("name", "value", "complaint"), [
    ("TASKBRIDGE_RESULT_TTL", "a week", "is not a number"),
    ("TASKBRIDGE_RESULT_TTL", "-5", "must be a positive number"),
    ("TASKBRIDGE_ROUTES", "reports.*=slow", "is not JSON"),
    ("TASKBRIDGE_ROUTES", '["slow"]', "must be a JSON object"),
    ("TASKBRIDGE_ROUTES", '{"reports.*": "no spaces"}', "queue name"),
    ("TASKBRIDGE_DEFAULT_QUEUE", "bad queue!", "queue name"),
])
def test_bad_environment_values_name_the_variable(
    name: str, value: str, complaint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad value is a ConfigurationError naming the variable, its value and the problem."""
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=complaint) as caught:
        Settings.resolve()
    assert str(caught.value).startswith(f"{name}={value!r}")


def test_relative_sqlite_paths_of_a_framework_are_read_against_its_directory(
    tmp_path: Path,
) -> None:
    """With framework_dir, relative SQLite paths in framework settings (the engine's and
    ?store='s) are made absolute against that directory; absolute and other URLs stay."""
    framework = {"URL": "huey+sqlite:///data/tasks.db?pool=process&store=sqlite:///s.db"}
    settings = Settings.resolve(framework=framework, framework_dir=tmp_path)
    assert settings.url == (f"huey+sqlite:///{tmp_path}/data/tasks.db?pool=process"
                            f"&store=sqlite:///{tmp_path}/s.db")
    assert sqlite_files(settings.url) == [tmp_path / "data" / "tasks.db", tmp_path / "s.db"]
    for url in ("huey+sqlite:////abs/tasks.db", "rq+redis://host:6379/0", "memory://"):
        assert Settings.resolve(framework={"URL": url}, framework_dir=tmp_path).url == url


def test_a_relative_sqlite_store_keeps_its_file_after_a_chdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative SQLite path is resolved once, when the bridge is made: a thread that opens
    its connection after the process changed directory uses the same file."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    bridge = Bridge("memory://?store=sqlite:///state.db")
    try:
        bridge.store.put_schedule("probe", {"task": "x"})
        monkeypatch.chdir(tmp_path / "b")
        seen: list[object] = []
        thread = threading.Thread(target=lambda: seen.append(bridge.store.get_schedule("probe")))
        thread.start()
        thread.join()
        assert seen == [{"task": "x"}]
        assert list((tmp_path / "b").iterdir()) == []
    finally:
        bridge.close()
