"""How a schedule calls its task: the tick only for a ``timestamp`` parameter, and every
schedule's call checked against the task's signature when it is added."""

from __future__ import annotations

import json
from typing import Any

import pytest

import taskbridge
from taskbridge import Every, InvalidTaskOptions, Status, TaskContext, task
from taskbridge._dashboard.http import Handler
from taskbridge._dashboard.messages import Request
from taskbridge._dashboard.security import allow_everyone
from taskbridge._schedules.calls import tick_arguments
from taskbridge._schedules.registry import periodic
from taskbridge._schedules.scheduler import Scheduler
from taskbridge.cli import main

T0 = 2_000_000_000


@task(name="calls.sync_site")
def sync_site(site_id: int) -> int:
    return site_id


@task(name="calls.report")
def report(timestamp: int, kind: str = "daily") -> list[Any]:
    return [timestamp, kind]


@task(name="calls.keyword")
def keyword_tick(kind: str, *, timestamp: int) -> list[Any]:
    return [kind, timestamp]


@task(name="calls.optional")
def optional_tick(kind: str, timestamp: int | None = None) -> list[Any]:
    return [kind, timestamp]


@task(name="calls.context", context=True)
def context_tick(context: TaskContext, timestamp: int, kind: str) -> list[Any]:
    return [timestamp, kind]


@pytest.mark.parametrize(("target", "args", "kwargs", "expected"), [
    (sync_site, (), {"site_id": 3}, ((), {"site_id": 3})),
    (sync_site, (3,), {}, ((3,), {})),
    (report, ("weekly",), {}, ((T0, "weekly"), {})),
    (keyword_tick, ("k",), {}, (("k",), {"timestamp": T0})),
    (optional_tick, (), {"kind": "k"}, ((), {"kind": "k", "timestamp": T0})),
    (context_tick, (), {"kind": "k"}, ((T0,), {"kind": "k"})),
], ids=["no-tick-kwargs", "no-tick-args", "first", "keyword-only", "later", "context"])
def test_the_tick_goes_only_where_the_task_asks_for_it(
    target: Any, args: tuple[Any, ...], kwargs: dict[str, Any], expected: Any
) -> None:
    """The tick is the first argument of a task whose first parameter is `timestamp`, the
    keyword `timestamp=` where that parameter comes later, and absent otherwise."""
    assert tick_arguments(target, T0, args, kwargs) == expected


def test_a_schedule_with_kwargs_runs_without_a_tick_parameter(
    bridge: taskbridge.Bridge,
) -> None:
    """A runtime schedule kwargs={'site_id': 3} of a task without a `timestamp` parameter
    runs and succeeds (it used to fail every tick with "multiple values for 'site_id'")."""
    bridge.schedules.add("sync", sync_site, Every(seconds=1), kwargs={"site_id": 3})
    data = bridge.store.get_schedule("sync")
    assert data is not None
    bridge.store.put_schedule("sync", dict(data, since=T0))
    [sent] = Scheduler(bridge).run_once(now=T0 + 1.5)
    bridge.drive()
    result = sent.result.refresh()
    assert (result.status, result.value, result.args) == (Status.SUCCEEDED, 3, [])


@pytest.mark.parametrize(("target", "options", "complaint"), [
    (sync_site, {"kwargs": {"site_id": 3, "site": 3}}, "unexpected keyword argument 'site'"),
    (sync_site, {"kwargs": {"site_id": 3}, "args": [4]}, "multiple values"),
    (sync_site, {}, "missing a required argument: 'site_id'"),
    (report, {"args": ["weekly", "extra"]}, "too many positional arguments"),
    (report, {"kwargs": {"timestamp": 5}}, "leave it out"),
    ("calls.sync_site", {"kwargs": {"site_id": 3, "x": 3}}, "unexpected keyword argument"),
], ids=["unknown-kwarg", "twice", "missing", "too-many", "tick-in-kwargs", "by-name"])
def test_adding_a_schedule_whose_call_cannot_bind_is_refused(
    bridge: taskbridge.Bridge, target: Any, options: dict[str, Any], complaint: str
) -> None:
    """bridge.schedules.add checks args/kwargs against the task's signature (with the tick
    where it goes), says what does not fit and how the tick is passed, and stores nothing."""
    with pytest.raises(InvalidTaskOptions, match=complaint) as caught:
        bridge.schedules.add("bad", target, Every(minutes=5), **options)
    assert "'timestamp'" in str(caught.value)
    assert bridge.schedules.list() == []


def test_changing_a_schedules_arguments_is_checked_too(bridge: taskbridge.Bridge) -> None:
    """update() with new kwargs that do not fit is refused, and the schedule keeps its own."""
    bridge.schedules.add("sync", sync_site, Every(minutes=5), kwargs={"site_id": 3})
    with pytest.raises(InvalidTaskOptions, match="site_ids"):
        bridge.schedules.update("sync", kwargs={"site_ids": [3]})
    assert bridge.schedules.get("sync").kwargs == {"site_id": 3}  # type: ignore[union-attr]


def test_periodic_with_arguments_that_cannot_bind_fails_at_definition() -> None:
    """@periodic checks its args/kwargs when the module is imported, not at every tick."""
    with pytest.raises(InvalidTaskOptions, match="unexpected keyword argument 'label'"):
        periodic(Every(hours=1), name="calls-bad", kwargs={"site_id": 1, "label": "x"})(sync_site)


def test_cli_refuses_a_misspelt_task_with_exit_2(
    bridge: taskbridge.Bridge, capsys: pytest.CaptureFixture[str]
) -> None:
    """`schedules add` with a misspelt task exits 2, suggests the close name and lists the
    registered ones; bad --kwargs exit 2 too."""
    code = main(["schedules", "add", "s", "calls.sync_sit", "--every", "5m", "--url", "memory://"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "no task is registered as 'calls.sync_sit'" in err
    assert "did you mean 'calls.sync_site'" in err and "--imports" in err
    code = main(["schedules", "add", "s", "calls.sync_site", "--every", "5m",
                 "--kwargs", '{"site_id": 1, "site": 1}', "--url", "memory://"])
    assert code == 2 and "unexpected keyword argument 'site'" in capsys.readouterr().err


def test_dashboard_refuses_arguments_that_cannot_bind() -> None:
    """POST /api/schedules with kwargs the task does not take is a 400 naming the problem."""
    bridge = taskbridge.Bridge("memory://")
    body = {"name": "sync", "task": "calls.sync_site", "kwargs": {"site_id": 1, "site": 1},
            "schedule": {"type": "every", "minutes": 5}}
    request = Request("POST", "/api/schedules", {},
                      {"host": "dash.test", "content-type": "application/json"},
                      json.dumps(body).encode(), "/", "http://dash.test")
    try:
        response = Handler(bridge, authorize=allow_everyone)(request)
        assert response.status == 400, response.body
        assert b"unexpected keyword argument" in response.body
        assert bridge.schedules.list() == []
    finally:
        bridge.close()
