"""Schedules over the API: create, read, change, pause, run now, delete, and validation."""

from __future__ import annotations

import datetime as dt

from conftest import Api
from taskbridge import Bridge


def test_schedule_lifecycle(bridge: Bridge, api: Api) -> None:
    """Create, list, pause by PUT, run now, see the run among last executions, delete."""
    body = {"name": "nightly", "task": "dash.tick", "schedule": {"type": "cron",
            "expr": "0 3 * * *", "tz": "Europe/Berlin"}, "kwargs": {"label": "n"}}
    created = api.json("POST", "/api/schedules", body, expect=201)
    assert created["enabled"] is True and created["description"] == "cron 0 3 * * * (Europe/Berlin)"
    assert len(created["next_runs"]) == 5 and created["next_run"] == created["next_runs"][0]
    assert [s["name"] for s in api.get("/api/schedules")["items"]] == ["nightly"]
    api.json("POST", "/api/schedules", body, expect=409)

    paused = api.json("PUT", "/api/schedules/nightly", {"enabled": False})
    assert paused["enabled"] is False and paused["next_run"] is None
    assert paused["kwargs"] == {"label": "n"}  # fields left out keep their values
    resumed = api.json("PUT", "/api/schedules/nightly",
                       {"enabled": True, "schedule": {"type": "every", "minutes": 5}})
    assert resumed["description"] == "every 5m" and resumed["next_run"] is not None

    run_id = api.post("/api/schedules/nightly/run")["id"]
    execution = api.get(f"/api/executions/{run_id}")
    assert execution["task_name"] == "dash.tick" and execution["kwargs"] == {"label": "n"}
    assert isinstance(execution["args"][0], int)
    assert [e["id"] for e in api.get("/api/schedules/nightly")["last_executions"]] == [run_id]

    assert api.call("DELETE", "/api/schedules/nightly").status == 204
    api.get("/api/schedules/nightly", expect=404)
    api.json("PUT", "/api/schedules/nightly", {"enabled": False}, expect=404)


def test_every_schedule_kind_is_accepted(api: Api) -> None:
    """cron, every (interval), solar and one-time (at) schedules can all be created."""
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).replace(microsecond=0)
    kinds = {
        "c": {"type": "cron", "expr": "*/5 * * * *"},
        "e": {"type": "every", "seconds": 90},
        "s": {"type": "solar", "event": "sunrise", "latitude": 52.5, "longitude": 13.4},
        "a": {"type": "at", "when": later.isoformat()},
    }
    for name, schedule in kinds.items():
        made = api.json("POST", "/api/schedules",
                        {"name": name, "task": "dash.tick", "schedule": schedule}, expect=201)
        assert made["schedule"]["type"] == schedule["type"]
    assert api.get("/api/schedules/a")["next_runs"] == [later.isoformat()]


def test_validation_errors_name_each_field(api: Api) -> None:
    """Every bad field comes back in errors, keyed by the field the form shows it under."""
    body = {"name": "bad name", "task": "no.such.task", "args": "[1,", "kwargs": [1],
            "schedule": {"type": "cron", "expr": "61 * * * *"}, "priority": 1000,
            "queue": "bad queue", "enabled": "yes"}
    problem = api.json("POST", "/api/schedules", body, expect=400)
    assert set(problem["errors"]) == {"name", "task", "args", "kwargs", "schedule.expr",
                                      "priority", "queue", "enabled"}
    checks = [
        ({"type": "cron", "expr": "* * * * *", "tz": "Mars/Olympus"}, "schedule.tz"),
        ({"type": "every"}, "schedule.interval"),
        ({"type": "every", "minutes": "five"}, "schedule.interval"),
        ({"type": "at", "when": "2001-01-01T00:00:00+00:00"}, "schedule.when"),
        ({"type": "at", "when": "tomorrow"}, "schedule.when"),
        ({"type": "solar", "event": "teatime", "latitude": 0, "longitude": 0}, "schedule.event"),
        ({"type": "solar", "event": "noon", "latitude": 95, "longitude": 0},
         "schedule.latitude"),
        ({"type": "weekly"}, "schedule.type"),
    ]
    for schedule, field in checks:
        problem = api.json("POST", "/api/schedules",
                           {"name": "x", "task": "dash.tick", "schedule": schedule}, expect=400)
        assert field in problem["errors"], (schedule, problem)
    assert "body" in api.json("POST", "/api/schedules", {"nme": 1}, expect=400)["errors"]
    assert api.json("POST", "/api/schedules", [1], expect=400)["status"] == 400
    response = api.call("POST", "/api/schedules", headers={"content-type": "application/json"})
    assert response.status == 400
