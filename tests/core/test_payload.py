"""The payload limit (``max_payload``) on arguments and results, and the settings' environment
variables of issue 9 (``TASKBRIDGE_MAX_PAYLOAD``, ``TASKBRIDGE_RESULT_TTL``, ...)."""

from __future__ import annotations

from typing import Any

import pytest

import taskbridge
from taskbridge import ArgumentsNotSerializable, ConfigurationError, Status, chain, task
from taskbridge._config import DEFAULT_MAX_PAYLOAD, Settings

from .conftest import run_all

LIMIT = 2_000


@task(name="payload.echo")
def echo(value: Any = None, **extra: Any) -> Any:
    return value


@task(name="payload.grow")
def grow(size: int) -> str:
    return "z" * size


@pytest.fixture
def small() -> Any:
    """A memory:// bridge whose payloads may take at most LIMIT bytes of JSON."""
    bridge = taskbridge.Bridge("memory://", max_payload=LIMIT)
    yield bridge
    bridge.close()


def test_arguments_over_the_limit_are_refused_before_anything_is_written(
    small: taskbridge.Bridge,
) -> None:
    """An enqueue whose args and kwargs take more than max_payload bytes of JSON raises
    ArgumentsNotSerializable naming the task, the size, the limit and the setting; nothing
    is stored or sent."""
    with pytest.raises(ArgumentsNotSerializable) as refused:
        echo.using(bridge=small).enqueue("a" * 1000, more="é" * 600)
    message = str(refused.value)
    assert "payload.echo" in message and "2,218 bytes" in message and "2,000 bytes" in message
    assert "max_payload" in message and "TASKBRIDGE_MAX_PAYLOAD" in message
    assert small.count() == 0 and not small.backend.sent  # type: ignore[attr-defined]


def test_arguments_at_the_limit_are_accepted(small: taskbridge.Bridge) -> None:
    """Exactly max_payload bytes is still fine; one more is not."""
    size = LIMIT - len('[[""],{"extra":""}]') - 10
    result = echo.using(bridge=small).enqueue("a" * size, extra="b" * 10)
    run_all(small)
    assert result.refresh().status is Status.SUCCEEDED
    with pytest.raises(ArgumentsNotSerializable, match="2,001 bytes"):
        echo.using(bridge=small).enqueue("a" * (size + 1), extra="b" * 10)


def test_a_batch_with_one_call_over_the_limit_sends_nothing(small: taskbridge.Bridge) -> None:
    """enqueue_many refuses the whole batch when one call is over the limit."""
    with pytest.raises(ArgumentsNotSerializable):
        echo.using(bridge=small).enqueue_many([("ok",), ("x" * LIMIT,)])
    assert small.count() == 0


def test_chain_steps_over_the_limit_are_refused_at_enqueue(small: taskbridge.Bridge) -> None:
    """A later chain step's own arguments are held to the limit before the chain is stored."""
    with pytest.raises(ArgumentsNotSerializable, match=r"payload\.echo"):
        chain(echo.using(bridge=small).s(1), echo.s(big="x" * LIMIT)).enqueue()
    assert small.count() == 0


def test_a_result_over_the_limit_fails_the_task(small: taskbridge.Bridge) -> None:
    """A task returning more than max_payload bytes of JSON ends FAILED (no retry) with
    ArgumentsNotSerializable naming the size and the setting."""
    result = grow.using(bridge=small).enqueue(LIMIT + 1)
    run_all(small)
    result.refresh()
    assert result.status is Status.FAILED and result.attempts == 1
    assert result.error is not None
    assert result.error.type == "taskbridge.ArgumentsNotSerializable"
    assert "result" in result.error.message and "max_payload" in result.error.message


def test_the_default_limit_is_one_mebibyte(default_bridge: taskbridge.Bridge) -> None:
    """By default a call may carry 1 MiB of JSON arguments, and not more."""
    assert Settings().max_payload == DEFAULT_MAX_PAYLOAD == 1024 * 1024
    echo.enqueue("a" * (DEFAULT_MAX_PAYLOAD - 100))
    with pytest.raises(ArgumentsNotSerializable, match="1,048,576"):
        echo.enqueue("a" * DEFAULT_MAX_PAYLOAD)


@pytest.mark.parametrize(
    ("variable", "text", "setting", "value"),
    [
        ("TASKBRIDGE_MAX_PAYLOAD", "4096", "max_payload", 4096),
        ("TASKBRIDGE_RESULT_TTL", "60", "result_ttl", 60.0),
        ("TASKBRIDGE_FAILED_TTL", "86400.5", "failed_ttl", 86400.5),
    ],
)
def test_settings_come_from_their_environment_variables(
    monkeypatch: pytest.MonkeyPatch, variable: str, text: str, setting: str, value: object
) -> None:
    """Each of these settings has an environment variable; an explicit value still wins."""
    monkeypatch.setenv(variable, text)
    assert getattr(Settings.resolve(), setting) == value
    explicit = 7 if setting == "max_payload" else 7.0
    assert getattr(Settings.resolve(**{setting: explicit}), setting) == explicit


@pytest.mark.parametrize(
    ("variable", "text"),
    [("TASKBRIDGE_MAX_PAYLOAD", "1.5"), ("TASKBRIDGE_MAX_PAYLOAD", "0"),
     ("TASKBRIDGE_RESULT_TTL", "a week"), ("TASKBRIDGE_FAILED_TTL", "-1")],
)
def test_bad_environment_values_are_configuration_errors(
    monkeypatch: pytest.MonkeyPatch, variable: str, text: str
) -> None:
    """A value that is not a positive number of the right kind names what is wrong."""
    monkeypatch.setenv(variable, text)
    with pytest.raises(ConfigurationError, match=r"TASKBRIDGE_|max_payload|failed_ttl"):
        Settings.resolve()
