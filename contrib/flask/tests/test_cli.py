"""``flask taskbridge``: the core's commands, options and exit codes, on the app's bridge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from processes import environment, flask


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of flask processes building the test app on a fresh huey+sqlite."""
    return environment(f"huey+sqlite:///{tmp_path / 'tasks.db'}")


def test_the_group_lists_every_core_command(env: dict[str, str]) -> None:
    """flask taskbridge --help lists the core's commands, from the flask.commands entry point."""
    done = flask("taskbridge", "--help", env=env)
    assert done.returncode == 0, done.stderr
    for command in ("worker", "scheduler", "status", "inspect", "failed", "tasks",
                    "schedules", "dashboard"):
        assert command in done.stdout


def test_a_command_runs_on_the_apps_configuration(env: dict[str, str]) -> None:
    """tasks and status use the app's TASKBRIDGE_* config: no --url, no --imports."""
    tasks = flask("taskbridge", "tasks", "--json", env=env)
    assert tasks.returncode == 0, tasks.stderr
    names = {t["name"] for t in json.loads(tasks.stdout)["tasks"]}
    assert {"flask_app.whoami", "flask_app.mark_done"} <= names
    status = flask("taskbridge", "status", "--json", env=env)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["url"] == env["FLASK_TEST_TASKBRIDGE_URL"]


def test_exit_codes_are_the_core_commands(env: dict[str, str]) -> None:
    """1 for a problem found (an unknown id), 2 for usage; help goes to the core's parser."""
    unknown = flask("taskbridge", "inspect", "no-such-id", env=env)
    assert unknown.returncode == 1
    assert "no-such-id" in unknown.stderr
    usage = flask("taskbridge", "worker", "--no-such-option", env=env)
    assert usage.returncode == 2
    assert "usage: flask taskbridge" in usage.stderr
    helped = flask("taskbridge", "failed", "--help", env=env)
    assert helped.returncode == 0 and "--retry" in helped.stdout


def test_an_unreachable_backend_exits_1(tmp_path: Path) -> None:
    """status on a backend that is down exits 1, as the core's command does."""
    done = flask("taskbridge", "status", env=environment("rq+redis://127.0.0.1:9/0"))
    assert done.returncode == 1, done.stdout + done.stderr


def test_an_app_without_the_extension_is_an_error_naming_it(tmp_path: Path) -> None:
    """An app that never called init_app gets a message saying what to do."""
    (tmp_path / "bare_app.py").write_text("from flask import Flask\napp = Flask('bare')\n")
    env = environment("memory://")
    env["PYTHONPATH"] = f"{tmp_path}:{env['PYTHONPATH']}"
    done = flask("taskbridge", "status", env=env, app="bare_app:app")
    assert done.returncode == 2
    assert "'bare' does not use taskbridge" in done.stderr and "init_app" in done.stderr
    assert "Traceback" not in done.stderr
