"""The executions API on every store kind: listing, filters, cursor pages, detail, retry, cancel."""

from __future__ import annotations

import time
from pathlib import Path

import dashboard_tasks as tasks

from conftest import Api, put_record
from taskbridge import Bridge, Every, Result, Status
from taskbridge._schedules.scheduler import Scheduler
from taskbridge.plugin import execute


def run_here(bridge: Bridge, result: Result) -> Result:
    """Run a PENDING execution in this process through the one execution path."""
    if bridge.capabilities.in_process:
        bridge.drive()
    else:
        envelope = bridge.store.get(result.id).envelope
        assert envelope is not None
        execute(bridge, envelope)
    return result.refresh()


def test_list_is_newest_first_with_contract_fields(bridge: Bridge, api: Api) -> None:
    """Executions list newest first, each with every field CONTRACT §15 names."""
    ids = [put_record(bridge, at=1000.0 + i).id for i in range(3)]
    page = api.get("/api/executions")
    assert [item["id"] for item in page["items"]] == ids[::-1]
    assert page["next_cursor"] is None
    fields = {"id", "task_name", "queue", "status", "attempts", "max_attempts", "args", "kwargs",
              "value", "error", "progress", "enqueued_at", "run_at", "started_at", "finished_at",
              "duration", "idempotency_key", "worker"}
    assert fields <= set(page["items"][0])
    assert page["items"][0]["enqueued_at"] == "1970-01-01T00:16:42+00:00"


def test_cursor_pages_are_stable_when_new_executions_arrive(bridge: Bridge, api: Api) -> None:
    """Following next_cursor visits every execution exactly once, even with ties and arrivals."""
    expected = [put_record(bridge, at=2000.0 + (i // 3)).id for i in range(10)]  # ties of 3
    seen: list[str] = []
    cursor = None
    while True:
        page = api.get("/api/executions", limit=4, **({"cursor": cursor} if cursor else {}))
        seen += [item["id"] for item in page["items"]]
        put_record(bridge, at=5000.0 + len(seen))  # newer work arrives between pages
        cursor = page["next_cursor"]
        if cursor is None:
            break
    by_time = sorted(
        (bridge.store.get(id) for id in expected), key=lambda r: (r.enqueued_at, r.id),
        reverse=True,
    )
    assert seen == [r.id for r in by_time]  # arrivals are newer than the first page: unseen


def test_filters_narrow_the_list(bridge: Bridge, api: Api) -> None:
    """status (one or several), task, queue, since/until and id prefix each filter the list."""
    failed = put_record(bridge, status=Status.FAILED, at=1000.0)
    done = put_record(bridge, status=Status.SUCCEEDED, at=1001.0, task="dash.echo")
    other = put_record(bridge, at=1002.0, queue="slow")

    def ids(**query: object) -> list[str]:
        return [item["id"] for item in api.get("/api/executions", **query)["items"]]

    assert ids(status="FAILED") == [failed.id]
    assert ids(status="failed,succeeded") == [done.id, failed.id]
    assert ids(task="dash.echo") == [done.id]
    assert ids(queue="slow") == [other.id]
    assert ids(since="1970-01-01T00:16:41Z") == [other.id, done.id]
    assert ids(until="1001") == [failed.id]
    assert ids(id=done.id) == [done.id]
    assert ids(id=done.id[:6]) == [r.id for r in (done, failed, other) if
                                   r.id.startswith(done.id[:6])]


def test_scheduler_bookkeeping_is_not_an_execution(bridge: Bridge, api: Api) -> None:
    """A scheduler's claims on ticks never show in listings, counts or statistics."""
    bridge.schedules.add("ticking", tasks.tick, Every(seconds=1))
    scheduler = Scheduler(bridge)
    now = time.time()
    sent = [e.result.id for moment in (now + 1, now + 2, now + 3)
            for e in scheduler.run_once(now=moment)]
    real = put_record(bridge)
    listed = [i["id"] for i in api.get("/api/executions")["items"]]
    assert sorted(listed) == sorted([*sent, real.id]) and len(sent) >= 2
    assert api.get("/api/statistics")["total"] == len(sent) + 1


def test_detail_and_unknown_id(bridge: Bridge, api: Api) -> None:
    """An execution's detail carries its error and traceback; an unknown id is a 404 problem."""
    failed = put_record(bridge, status=Status.FAILED, duration=2.0)
    detail = api.get(f"/api/executions/{failed.id}")
    assert detail["error"] == {"type": "ValueError", "message": "bad <b>input</b>",
                               "traceback": "Traceback ...\nValueError: bad"}
    assert abs(detail["duration"] - 2.0) < 1e-6
    [attempt] = detail["attempt_history"]
    assert (attempt["attempt"], attempt["worker"], attempt["outcome"]) == (1, "host:1:2", "FAILED")
    assert attempt["error"]["message"] == "bad <b>input</b>" and attempt["finished_at"]
    assert detail["progress_log"] == [] and detail["discarded_at"] is None
    response = api.call("GET", "/api/executions/nope")
    assert response.status == 404
    assert dict(response.headers)["Content-Type"] == "application/problem+json"


def test_retry_failed_then_succeeds(bridge: Bridge, api: Api, tmp_path: Path) -> None:
    """Retry of a FAILED execution answers 202 with a new id that then SUCCEEDS; twice is 409."""
    first = tasks.fails_once.using(bridge=bridge).enqueue(str(tmp_path / "marker"), note="x")
    assert run_here(bridge, first).status is Status.FAILED
    new_id = api.post(f"/api/executions/{first.id}/retry")["id"]
    assert new_id != first.id
    again = run_here(bridge, bridge.get_result(new_id))
    assert again.status is Status.SUCCEEDED and again.value == "fixed"
    assert api.get(f"/api/executions/{first.id}")["retried_as"] == new_id
    assert api.call("POST", f"/api/executions/{first.id}/retry").status == 409


def test_retry_canceled_enqueues_again(bridge: Bridge, api: Api) -> None:
    """A CANCELED execution can be retried: a new PENDING one with the same arguments."""
    waiting = tasks.add.using(bridge=bridge, queue="parked").enqueue(2, 3)
    api.post(f"/api/executions/{waiting.id}/cancel")
    assert waiting.refresh().status is Status.CANCELED
    new_id = api.post(f"/api/executions/{waiting.id}/retry")["id"]
    new = api.get(f"/api/executions/{new_id}")
    assert (new["status"], new["args"], new["queue"]) == ("PENDING", [2, 3], "parked")


def test_retry_and_cancel_refuse_wrong_states(bridge: Bridge, api: Api) -> None:
    """Retrying a non-failed execution and canceling a final one are 409 conflicts."""
    pending = put_record(bridge)
    done = put_record(bridge, status=Status.SUCCEEDED)
    assert api.call("POST", f"/api/executions/{pending.id}/retry").status == 409
    assert api.call("POST", f"/api/executions/{done.id}/cancel").status == 409
    assert api.call("POST", "/api/executions/unknown/cancel").status == 404


def test_bad_parameters_are_400_problems(api: Api) -> None:
    """Malformed query parameters are 400 problems naming the parameter, never 500s."""
    for query, field in (({"status": "BOGUS"}, "status"), ({"limit": "0"}, "limit"),
                         ({"limit": "x"}, "limit"), ({"cursor": "!!"}, "cursor"),
                         ({"since": "yesterday"}, "since"), ({"until": "nan"}, "until")):
        body = api.get("/api/executions", expect=400, **query)
        assert field in body["errors"], body
    assert "window" in api.get("/api/statistics", expect=400, window="5y")["errors"]
