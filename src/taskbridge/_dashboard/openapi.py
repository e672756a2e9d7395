"""The OpenAPI 3.1 description of the dashboard's HTTP API (``GET …/api/openapi.json``)."""

from __future__ import annotations

from typing import Any

from taskbridge import Status, __version__

STATUSES = [s.value for s in Status]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(kind: str | dict[str, Any], **extra: Any) -> dict[str, Any]:
    if isinstance(kind, dict):
        return {"oneOf": [kind, {"type": "null"}]}
    return {"type": [kind, "null"], **extra}


def _object(properties: dict[str, Any], *, optional: tuple[str, ...] = (),
            closed: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object", "properties": properties,
        "required": [name for name in properties if name not in optional],
    }
    if closed:
        schema["additionalProperties"] = False
    return schema


TIME = _nullable("string", format="date-time")
SUMMARY = _object({
    "id": {"type": "string"}, "task_name": {"type": "string"},
    "status": {"enum": STATUSES}, "enqueued_at": TIME, "finished_at": TIME,
})
COUNTS = _object({status: {"type": "integer", "minimum": 0} for status in STATUSES})
SERIES = {"type": "array", "items": _object({"t": {"type": "string", "format": "date-time"},
                                             "count": {"type": "integer", "minimum": 0}})}
RATE = _nullable("number", minimum=0, maximum=1)
ERROR = _object({"type": {"type": "string"}, "message": {"type": "string"},
                 "traceback": {"type": "string"}})
SCHEDULE_VALUE = {"oneOf": [
    _object({"type": {"const": "cron"}, "expr": {"type": "string"}, "tz": {"type": "string"}},
            optional=("tz",)),
    _object({"type": {"const": "every"}, **{unit: {"type": "number", "minimum": 0}
             for unit in ("seconds", "minutes", "hours", "days")}},
            optional=("seconds", "minutes", "hours", "days")),
    _object({"type": {"const": "at"}, "when": {"type": "string", "format": "date-time"}}),
    _object({"type": {"const": "solar"},
             "event": {"enum": ["dawn", "sunrise", "noon", "sunset", "dusk"]},
             "latitude": {"type": "number", "minimum": -90, "maximum": 90},
             "longitude": {"type": "number", "minimum": -180, "maximum": 180}}),
]}
SCHEDULE_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,199}$"},
    "task": {"type": "string", "description": "a task registered in the dashboard's process"},
    "schedule": SCHEDULE_VALUE,
    "args": {"type": ["array", "string"], "description": "a JSON array, or text holding one"},
    "kwargs": {"type": ["object", "string"], "description": "a JSON object, or text holding one"},
    "enabled": {"type": "boolean"},
    "queue": _nullable("string"),
    "priority": _nullable("integer", minimum=-100, maximum=100),
    "catch_up": {"type": "boolean"},
}

SCHEMAS: dict[str, Any] = {
    "Problem": _object({
        "type": {"type": "string"}, "title": {"type": "string"},
        "status": {"type": "integer"}, "detail": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "string"}},
    }, optional=("errors",)),
    "Execution": _object({
        "id": {"type": "string"}, "task_name": {"type": "string"}, "queue": {"type": "string"},
        "status": {"enum": STATUSES},
        "attempts": {"type": "integer", "minimum": 0},
        "max_attempts": {"type": "integer", "minimum": 0},
        "args": {"type": "array"}, "kwargs": {"type": "object"},
        "value": {"description": "the return value (any JSON) once SUCCEEDED"},
        "error": _nullable(ERROR),
        "progress": _nullable(_object({"percent": {"type": "number"},
                                       "message": {"type": "string"}})),
        "enqueued_at": TIME, "run_at": TIME, "started_at": TIME, "finished_at": TIME,
        "duration": _nullable("number", minimum=0),
        "idempotency_key": _nullable("string"), "worker": _nullable("string"),
        "priority": {"type": "integer"}, "cancel_requested": {"type": "boolean"},
        "retried_as": _nullable("string"), "discarded_at": TIME,
        "progress_log": {"type": "array", "description": "the latest progress reports, oldest "
                                                         "first",
                         "items": _object({"at": TIME, "percent": {"type": "number"},
                                           "message": {"type": "string"}})},
        "attempt_history": {"type": "array", "description": "per attempt, oldest first; empty "
                                                            "for records of older versions",
                            "items": _object({
                                "attempt": {"type": "integer", "minimum": 1},
                                "worker": _nullable("string"), "started_at": TIME,
                                "finished_at": TIME, "outcome": _nullable({"enum": STATUSES}),
                                "error": _nullable(ERROR),
                                "cpu_time": _nullable("number", minimum=0),
                                "peak_memory": _nullable("integer", minimum=0),
                            })},
    }),
    "ExecutionPage": _object({"items": {"type": "array", "items": _ref("Execution")},
                              "next_cursor": _nullable("string")}),
    "NewExecution": _object({"id": {"type": "string"}}),
    "TaskList": _object({"items": {"type": "array", "items": _object({
        "name": {"type": "string"}, "queue": {"type": "string"}, "counts": COUNTS,
        "total": {"type": "integer"}, "success_rate": RATE, "last_run": _nullable(SUMMARY),
    })}}),
    "TaskStats": _object({
        "name": {"type": "string"}, "window": {"type": "number"}, "counts": COUNTS,
        "total": {"type": "integer"}, "success_rate": RATE,
        "duration": _object({"p50": _nullable("number"), "p95": _nullable("number"),
                             "samples": {"type": "integer"}}),
        "throughput": SERIES, "failures": SERIES,
        "recent_errors": {"type": "array", "items": {
            "allOf": [SUMMARY, _object({"error": _nullable(ERROR)})]}},
    }),
    "Statistics": _object({
        "generated_at": {"type": "string", "format": "date-time"},
        "window": {"type": "number"}, "totals": COUNTS, "total": {"type": "integer"},
        "window_counts": COUNTS, "success_rate": RATE,
        "throughput": SERIES, "failures": SERIES,
        "queues": {"type": "object", "additionalProperties": _nullable("integer")},
        "workers": {"type": "array", "items": _object({
            "id": _nullable("string"), "host": _nullable("string"),
            "pid": _nullable("integer"), "engine": _nullable("string"),
            "queues": {"type": "array", "items": {"type": "string"}},
            "concurrency": _nullable("integer"), "pool": _nullable("string"),
            "started_at": TIME, "current": {"type": "array", "items": SUMMARY},
        })},
        "running": {"type": "array", "items": {"allOf": [SUMMARY, _object({
            "worker": _nullable("string"), "started_at": TIME,
            "progress": {"type": ["object", "null"]}})]}},
    }),
    "Schedule": _object({
        **{k: v for k, v in SCHEDULE_FIELDS.items() if k not in ("args", "kwargs")},
        "args": {"type": "array"}, "kwargs": {"type": "object"},
        "description": {"type": "string"}, "source": {"enum": ["code", "store"]},
        "registered": {"type": "boolean"}, "next_run": TIME,
        "next_runs": {"type": "array", "items": {"type": "string", "format": "date-time"}},
        "last_tick": TIME, "last_outcome": _nullable({"enum": STATUSES}),
        "last_executions": {"type": "array", "items": SUMMARY},
    }),
    "ScheduleList": _object({"items": {"type": "array", "items": _ref("Schedule")}}),
    "NewSchedule": _object(SCHEDULE_FIELDS, optional=(
        "args", "kwargs", "enabled", "queue", "priority", "catch_up")),
    "ScheduleChanges": _object(SCHEDULE_FIELDS, optional=tuple(SCHEDULE_FIELDS)),
    "Health": _object({
        "ok": {"type": "boolean"}, "engine": {"type": "string"}, "url": {"type": "string"},
        "store": {"type": "string"}, "backend": {"type": "string"},
        "checked_at": {"type": "string", "format": "date-time"},
        "queues": {"type": "object", "additionalProperties": {"type": "integer"}},
        "workers": {"type": "integer"}, "failed": _nullable("integer"),
    }),
}

_PROBLEM = {"application/problem+json": {"schema": _ref("Problem")}}
_REASONS = {400: "Invalid parameters or body", 401: "Credentials required",
            403: "Refused (another origin, or a CSRF token missing)",
            404: "Not found", 405: "Method not allowed", 409: "Not possible in this state",
            413: "Body too large", 415: "Not JSON", 503: "Backend or store unreachable"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _operation(summary: str, responses: dict[int, Any], *, errors: tuple[int, ...] = (),
               parameters: list[Any] | None = None, body: str | None = None,
               changes: bool = False) -> dict[str, Any]:
    answers = {str(code): answer for code, answer in responses.items()}
    for code in (*errors, 401, *((403, 413, 415) if changes else ())):
        answers[str(code)] = {"description": _REASONS[code], "content": _PROBLEM}
    operation: dict[str, Any] = {"summary": summary, "responses": answers}
    if parameters:
        operation["parameters"] = parameters
    if body is not None or changes:
        schema = _ref(body) if body else {"type": "object"}
        operation["requestBody"] = {"required": body is not None,
                                    "content": {"application/json": {"schema": schema}}}
    return operation


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}


WINDOW = _query("window", "3600, 15m, 1h or 7d: one minute to 31 days (default 1h)")


def document(root: str = "/") -> dict[str, Any]:
    """The whole API, for a dashboard mounted at ``root``."""
    execution_id, name = _path_param("id"), _path_param("name")
    listing = [
        _query("status", "one status or several, comma-separated"),
        _query("task", "task name"), _query("queue", "queue name"),
        _query("since", "enqueued at or after: ISO 8601 or Unix seconds"),
        _query("until", "enqueued before: ISO 8601 or Unix seconds"),
        _query("id", "an execution id, or the start of one"),
        _query("limit", "page size, 1-500 (default 50)", type="integer", minimum=1,
               maximum=500),
        _query("cursor", "next_cursor of the previous page"),
    ]
    paths = {
        "/api/executions": {"get": _operation(
            "Executions, newest first, with stable cursor pagination",
            {200: _json(_ref("ExecutionPage"), "A page")}, errors=(400,),
            parameters=listing)},
        "/api/executions/{id}": {"get": _operation(
            "One execution", {200: _json(_ref("Execution"), "The execution")},
            errors=(404,), parameters=[execution_id])},
        "/api/executions/{id}/retry": {"post": _operation(
            "Enqueue a FAILED or CANCELED execution again",
            {202: _json(_ref("NewExecution"), "The new execution's id")},
            errors=(404, 409), parameters=[execution_id], changes=True)},
        "/api/executions/{id}/cancel": {"post": _operation(
            "Cancel a waiting execution, or ask a running one to stop",
            {202: _json(_ref("Execution"), "The execution after the request")},
            errors=(404, 409), parameters=[execution_id], changes=True)},
        "/api/tasks": {"get": _operation(
            "Every registered task with its counts, success rate and last run",
            {200: _json(_ref("TaskList"), "The tasks")})},
        "/api/tasks/{name}/stats": {"get": _operation(
            "One task's statistics over a window",
            {200: _json(_ref("TaskStats"), "Statistics")}, errors=(400, 404),
            parameters=[name, WINDOW])},
        "/api/statistics": {"get": _operation(
            "Totals, throughput and failure series, queue depths, workers",
            {200: _json(_ref("Statistics"), "Statistics")}, errors=(400,),
            parameters=[WINDOW])},
        "/api/schedules": {
            "get": _operation("Every stored schedule",
                              {200: _json(_ref("ScheduleList"), "The schedules")}),
            "post": _operation("Create a schedule",
                               {201: _json(_ref("Schedule"), "The new schedule")},
                               errors=(400, 409), body="NewSchedule", changes=True),
        },
        "/api/schedules/{name}": {
            "get": _operation("One schedule, with next runs and last executions",
                              {200: _json(_ref("Schedule"), "The schedule")},
                              errors=(404,), parameters=[name]),
            "put": _operation("Change a schedule: fields left out keep their values; "
                              "enabled pauses and resumes",
                              {200: _json(_ref("Schedule"), "The schedule")},
                              errors=(400, 404), parameters=[name], body="ScheduleChanges",
                              changes=True),
            "delete": _operation("Remove a schedule", {204: {"description": "Removed"}},
                                 errors=(404,), parameters=[name], changes=True),
        },
        "/api/schedules/{name}/run": {"post": _operation(
            "Enqueue the schedule's task now",
            {202: _json(_ref("NewExecution"), "The new execution's id")},
            errors=(404, 409, 503), parameters=[name], changes=True)},
        "/api/health": {"get": _operation(
            "Whether the backend and the store answer",
            {200: _json(_ref("Health"), "Healthy"), 503: _json(_ref("Health"), "Unhealthy")})},
        "/api/openapi.json": {"get": _operation(
            "This document", {200: _json({"type": "object"}, "OpenAPI 3.1")})},
        "/metrics": {"get": _operation("Prometheus metrics", {200: {
            "description": "Text exposition format",
            "content": {"text/plain": {"schema": {"type": "string"}}}}})},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "taskbridge operations API", "version": __version__,
                 "description": "Executions, tasks, statistics and schedules of one bridge."},
        "servers": [{"url": root.rstrip("/") or "/"}],
        "paths": paths,
        "components": {"schemas": SCHEMAS, "securitySchemes": {
            "basic": {"type": "http", "scheme": "basic"}}},
        "security": [{"basic": []}, {}],
    }
