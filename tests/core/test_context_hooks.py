"""The hooks a framework adapter uses: the current bridge per context, and what each attempt
of a task runs inside."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import taskbridge
from taskbridge import Bridge, Envelope, RetryPolicy, Status, hookimpl, task
from taskbridge.testing.kit import pinned

from .conftest import run_all

_scope = threading.local()
seen: list[Any] = []


@task(name="context_hooks.where_am_i")
def where_am_i() -> str:
    seen.append(getattr(_scope, "name", None))
    return str(getattr(_scope, "name", None))


@task(name="context_hooks.flaky", retry=RetryPolicy(max_attempts=2, backoff=0.01))
def flaky() -> None:
    raise ValueError("boom")


class ScopedBridge:
    """Names a bridge while ``_scope.bridge`` is set, as a web framework's app context would."""

    @hookimpl
    def taskbridge_current_bridge(self) -> Bridge | None:
        return getattr(_scope, "bridge", None)


class AttemptScope:
    """Runs each attempt inside a scope named after the task, and records enter/exit."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, int]] = []

    @hookimpl
    def taskbridge_attempt_context(
        self, bridge: Bridge, envelope: Envelope
    ) -> contextlib.AbstractContextManager[object]:
        @contextlib.contextmanager
        def scope() -> Iterator[None]:
            self.events.append(("enter", envelope.task_name, envelope.attempt))
            _scope.name = f"scope:{envelope.task_name}"
            try:
                yield
            finally:
                del _scope.name
                self.events.append(("exit", envelope.task_name, envelope.attempt))

        return scope()


class BrokenScope:
    """A context that cannot be entered."""

    @hookimpl
    def taskbridge_attempt_context(self, bridge: Bridge, envelope: Envelope) -> Any:
        @contextlib.contextmanager
        def scope() -> Iterator[None]:
            raise RuntimeError("no application to run in")
            yield

        return scope()


def test_get_bridge_returns_the_bridge_a_plugin_names_for_the_context(
    register_plugin: Callable[[object], None], default_bridge: Bridge,
) -> None:
    """get_bridge() and task.enqueue() use a plugin's current bridge while it names one, and
    the process default otherwise."""
    register_plugin(ScopedBridge())
    scoped = Bridge("memory://")
    try:
        _scope.bridge = scoped
        assert taskbridge.get_bridge() is scoped
        result = where_am_i.enqueue()
        assert scoped.get_result(result.id).status is Status.PENDING
        del _scope.bridge
        assert taskbridge.get_bridge() is default_bridge
        assert where_am_i.enqueue().id in {r.id for r in default_bridge.list()}
    finally:
        vars(_scope).pop("bridge", None)
        scoped.close()


def test_an_explicit_bridge_beats_the_context(
    register_plugin: Callable[[object], None], bridge: Bridge,
) -> None:
    """task.using(bridge=...) goes to that bridge whatever the context names."""
    register_plugin(ScopedBridge())
    scoped = Bridge("memory://")
    try:
        _scope.bridge = scoped
        result = where_am_i.using(bridge=bridge).enqueue()
        assert bridge.get_result(result.id).id == result.id
        assert scoped.list() == []
    finally:
        vars(_scope).pop("bridge", None)
        scoped.close()


def test_a_pinned_bridge_beats_every_plugin(register_plugin: Callable[[object], None]) -> None:
    """pinned() (what taskbridge_memory uses) wins over a plugin's current bridge."""
    register_plugin(ScopedBridge())
    scoped, test = Bridge("memory://"), Bridge("memory://")
    try:
        _scope.bridge = scoped
        with pinned(test):
            assert taskbridge.get_bridge() is test
        assert taskbridge.get_bridge() is scoped
    finally:
        vars(_scope).pop("bridge", None)
        scoped.close()
        test.close()


def test_the_memory_fixture_wins_over_a_plugin(
    register_plugin: Callable[[object], None], taskbridge_memory: Any,
) -> None:
    """With taskbridge_memory, enqueues go to the test's memory bridge even where a plugin
    names another bridge (an app under test never reaches its real backend)."""
    register_plugin(ScopedBridge())
    scoped = Bridge("memory://")
    try:
        _scope.bridge = scoped
        where_am_i.enqueue()
        taskbridge_memory.assert_enqueued(where_am_i, count=1)
        assert scoped.list() == []
    finally:
        vars(_scope).pop("bridge", None)
        scoped.close()


def test_each_attempt_runs_inside_the_plugins_context(
    register_plugin: Callable[[object], None], bridge: Bridge,
) -> None:
    """The task's function runs inside every taskbridge_attempt_context, entered and exited
    once per attempt, retries included."""
    plugin = AttemptScope()
    register_plugin(plugin)
    seen.clear()
    done = where_am_i.using(bridge=bridge).enqueue()
    failed = flaky.using(bridge=bridge).enqueue()
    run_all(bridge)
    assert done.refresh().value == "scope:context_hooks.where_am_i"
    assert seen == ["scope:context_hooks.where_am_i"]
    assert failed.refresh().status is Status.FAILED
    assert [e for e in plugin.events if e[1] == "context_hooks.flaky"] == [
        ("enter", "context_hooks.flaky", 1), ("exit", "context_hooks.flaky", 1),
        ("enter", "context_hooks.flaky", 2), ("exit", "context_hooks.flaky", 2),
    ]
    assert not hasattr(_scope, "name")


def test_a_context_that_cannot_be_entered_fails_the_attempt(
    register_plugin: Callable[[object], None], bridge: Bridge,
) -> None:
    """An error entering a plugin's context is the attempt's error; the task never runs."""
    register_plugin(BrokenScope())
    seen.clear()
    result = where_am_i.using(bridge=bridge).enqueue()
    run_all(bridge)
    record = result.refresh()
    assert record.status is Status.FAILED
    assert record.error is not None and "no application to run in" in record.error.message
    assert seen == []


@pytest.mark.parametrize("argv", [["tasks", "--json"], ["status", "--json"]])
def test_run_command_uses_the_given_bridge_and_leaves_it_open(
    argv: list[str], bridge: Bridge, capsys: pytest.CaptureFixture[str],
) -> None:
    """run_command(argv, bridge=...) runs a command on an adapter's bridge and does not close
    it; the exit codes are the command line's."""
    from taskbridge.plugin import run_command

    assert run_command(argv, bridge=bridge) == 0
    out = capsys.readouterr().out
    if argv[0] == "status":
        assert '"engine": "memory"' in out
    assert where_am_i.using(bridge=bridge).enqueue().status is Status.PENDING


def test_run_command_url_overrides_the_given_bridges_url(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--url overrides the given bridge's URL and keeps its other settings."""
    from taskbridge.plugin import run_command

    configured = Bridge("memory://", default_queue="reports", heartbeat_interval=0.05)
    try:
        code = run_command(["status", "--json", "--url", "memory://?namespace=other"],
                           bridge=configured, prog="flask taskbridge")
        assert code == 0
        assert "namespace=other" in capsys.readouterr().out
        assert run_command(["inspect", "nope"], bridge=configured) == 1
        with pytest.raises(SystemExit) as usage:
            run_command(["nonsense"], bridge=configured, prog="flask taskbridge")
        assert usage.value.code == 2
        assert "usage: flask taskbridge" in capsys.readouterr().err
    finally:
        configured.close()
