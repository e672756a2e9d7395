"""Schedules over HTTP: validate what a form or a script sent, then change
``bridge.schedules``; read schedules back with their next runs and last executions.

Validation errors name the field they belong to (``task``, ``schedule.expr``, ``kwargs``, ...)
so a form shows each one beside its input.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

from taskbridge import (
    At,
    Bridge,
    Cron,
    Every,
    InvalidTaskOptions,
    RecordFilter,
    Solar,
    TaskBridgeError,
)
from taskbridge._dashboard import views
from taskbridge._dashboard.problems import Problem, bad_request, conflict, not_found
from taskbridge._dashboard.queries import ExecutionQueries, queries_for
from taskbridge.plugin import check_queue, registered_tasks, tick_arguments

NEXT_RUNS = 5
LAST_EXECUTIONS = 5
#: Recent executions of a schedule's task searched for the schedule's own ticks.
_SEARCHED = 100
_FIELDS = frozenset(
    {"name", "task", "schedule", "args", "kwargs", "enabled", "queue", "priority", "catch_up"}
)


class Invalid(Exception):
    """One field's problem, collected into a 400 with every field's message."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _number(data: Mapping[str, Any], key: str, field: str) -> float:
    value = data.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(field, f"{key} must be a number, got {value!r}")
    if not math.isfinite(value) or abs(value) > 1e9:
        raise Invalid(field, f"{key} must be a number from -1e9 to 1e9, got {value!r}")
    return float(value)


def _cron(data: Mapping[str, Any]) -> Cron:
    expr, tz = data.get("expr"), data.get("tz") or "UTC"
    if not isinstance(tz, str):
        raise Invalid("schedule.tz", f"time zone must be a string, got {tz!r}")
    try:
        Cron("* * * * *", tz=tz)
    except InvalidTaskOptions as exc:
        raise Invalid("schedule.tz", str(exc)) from None
    if not isinstance(expr, str) or not expr.strip():
        raise Invalid("schedule.expr", "give a cron expression such as '*/5 * * * *'")
    try:
        return Cron(expr.strip(), tz=tz)
    except InvalidTaskOptions as exc:
        raise Invalid("schedule.expr", str(exc)) from None


def _every(data: Mapping[str, Any]) -> Every:
    parts = {k: _number(data, k, "schedule.interval") for k in ("seconds", "minutes", "hours",
                                                              "days")}
    try:
        return Every(**parts)
    except InvalidTaskOptions as exc:
        raise Invalid("schedule.interval", str(exc)) from None


def _at(data: Mapping[str, Any]) -> At:
    when = data.get("when")
    try:
        moment = dt.datetime.fromisoformat(when) if isinstance(when, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() is None:
        raise Invalid("schedule.when", f"give an ISO 8601 time with its offset, such as "
                                       f"2030-01-01T09:00:00+00:00; got {when!r}")
    if moment.timestamp() <= time.time():
        raise Invalid("schedule.when", f"{when} is in the past; a one-time schedule must be "
                                       "in the future")
    return At(moment)


def _solar(data: Mapping[str, Any]) -> Solar:
    event = data.get("event")
    latitude = _number(data, "latitude", "schedule.latitude")
    longitude = _number(data, "longitude", "schedule.longitude")
    checks: tuple[tuple[str, Callable[[], Solar]], ...] = (
        ("schedule.event", lambda: Solar(str(event), 0, 0)),
        ("schedule.latitude", lambda: Solar("noon", latitude, 0)),
        ("schedule.longitude", lambda: Solar("noon", 0, longitude)),
    )
    for field, check in checks:
        try:
            check()
        except InvalidTaskOptions as exc:
            raise Invalid(field, str(exc)) from None
    return Solar(str(event), latitude, longitude)


_KINDS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "cron": _cron, "every": _every, "at": _at, "solar": _solar,
}


def schedule_value(data: Any) -> Any:
    """A schedule value from its JSON form (the same dicts ``to_dict`` writes)."""
    kind = data.get("type") if isinstance(data, Mapping) else None
    if not isinstance(kind, str) or kind not in _KINDS:
        raise Invalid("schedule.type", "choose a schedule type: cron, every, at or solar")
    return _KINDS[kind](data)


def _json_value(value: Any, kind: type, field: str) -> Any:
    """A list/dict, or a string holding one (what a form's text area sends)."""
    if value is None:
        return kind()
    if isinstance(value, str):
        text = value.strip() or ("[]" if kind is list else "{}")
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise Invalid(field, f"not valid JSON: {exc.msg} at position {exc.pos}") from None
    if not isinstance(value, kind):
        raise Invalid(field, f"must be a JSON {'array' if kind is list else 'object'}")
    return value


def parse(body: Any, *, partial: bool, check_name: Callable[[str], Any]) -> dict[str, Any]:
    """The changes ``body`` asks for, checked field by field; a 400 names every bad field.

    ``check_name`` raises ``InvalidTaskOptions`` for a name schedules cannot have.
    """
    if not isinstance(body, Mapping):
        raise bad_request("the request body must be a JSON object")
    errors: dict[str, str] = {}
    changes: dict[str, Any] = {}
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        errors["body"] = f"unknown field(s): {', '.join(unknown)}"
    required = () if partial else ("name", "task", "schedule")
    for field in required:
        if body.get(field) in (None, ""):
            errors[field] = "required"

    def check(field: str, convert: Callable[[Any], Any]) -> None:
        if field in body and field not in errors:
            try:
                changes[field] = convert(body[field])
            except Invalid as exc:
                errors[exc.field] = str(exc)

    check("name", lambda v: _name(v, check_name))
    check("task", _task_name)
    check("schedule", schedule_value)
    check("args", lambda v: _json_value(v, list, "args"))
    check("kwargs", lambda v: _json_value(v, dict, "kwargs"))
    check("enabled", lambda v: _flag(v, "enabled"))
    check("catch_up", lambda v: _flag(v, "catch_up"))
    check("queue", _queue)
    check("priority", _priority)
    if errors:
        raise Problem(400, "the schedule is not valid: " + "; ".join(
            f"{k}: {v}" for k, v in sorted(errors.items())), errors=errors)
    return changes


def _name(value: Any, check_name: Callable[[str], Any]) -> str:
    if not isinstance(value, str):
        raise Invalid("name", "must be a string")
    try:
        check_name(value)
    except InvalidTaskOptions as exc:
        raise Invalid("name", str(exc)) from None
    return value


def _task_name(value: Any) -> str:
    if not isinstance(value, str) or value not in registered_tasks():
        known = ", ".join(sorted(registered_tasks())) or "none (start with --imports)"
        raise Invalid("task", f"no task {value!r} is registered here; registered: {known}")
    return value


def _flag(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise Invalid(field, "must be true or false")
    return value


def _queue(value: Any) -> str | None:
    if value in (None, ""):
        return None
    try:
        return check_queue(value)
    except (InvalidTaskOptions, TypeError) as exc:
        raise Invalid("queue", str(exc)) from None


def _priority(value: Any) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not -100 <= value <= 100:
        raise Invalid("priority", "must be a whole number from -100 to 100")
    return value


class Schedules:
    """Schedules CRUD and run-now over ``bridge.schedules``."""

    def __init__(self, bridge: Bridge, queries: ExecutionQueries | None = None) -> None:
        self.bridge = bridge
        self.queries = queries or queries_for(bridge.store)

    def _entry(self, name: str) -> Any:
        try:
            entry = self.bridge.schedules.get(name)
        except InvalidTaskOptions:
            entry = None
        if entry is None:
            raise not_found(f"no schedule named {name!r}")
        return entry

    def _last_executions(self, entry: Any) -> list[dict[str, Any]]:
        # Ticks and run-now executions carry the key "schedule:<name>:<tick or run-…>".
        prefix = f"schedule:{entry.name}:"
        recent = self.queries.page(RecordFilter(task_name=entry.task), limit=_SEARCHED,
                                   after=None)
        mine = [r for r in recent if (r.idempotency_key or "").startswith(prefix)]
        return [views.execution_summary(r) for r in mine[:LAST_EXECUTIONS]]

    def to_json(self, entry: Any, now: float) -> dict[str, Any]:
        runs: list[str | None] = []
        moment = entry.next_run(now)
        while moment is not None and len(runs) < NEXT_RUNS:
            runs.append(moment.isoformat())
            moment = entry.schedule.next_after(moment)
        last = self._last_executions(entry)
        return {
            "name": entry.name, "task": entry.task, "schedule": entry.schedule.to_dict(),
            "description": entry.schedule.describe(), "args": list(entry.args),
            "kwargs": dict(entry.kwargs), "queue": entry.queue, "priority": entry.priority,
            "enabled": not entry.paused, "catch_up": entry.catch_up, "source": entry.source,
            "registered": entry.task in registered_tasks(),
            "next_run": runs[0] if runs else None, "next_runs": runs,
            "last_tick": views.iso(entry.last_tick) if entry.last_tick is not None else None,
            "last_outcome": last[0]["status"] if last else None,
            "last_executions": last,
        }

    def list(self) -> dict[str, Any]:
        now = time.time()
        return {"items": [self.to_json(e, now) for e in self.bridge.schedules.list()]}

    def get(self, name: str) -> dict[str, Any]:
        return self.to_json(self._entry(name), time.time())

    def create(self, body: Any) -> dict[str, Any]:
        """Add a schedule; 400 with every bad field, 409 when the name is taken."""
        fields = parse(body, partial=False, check_name=self.bridge.schedules.get)
        name = fields["name"]
        if self.bridge.schedules.get(name) is not None:
            raise conflict(f"a schedule named {name!r} exists; change it with PUT")
        try:
            entry = self.bridge.schedules.add(
                name, fields["task"], fields["schedule"], args=fields.get("args", ()),
                kwargs=fields.get("kwargs"), queue=fields.get("queue"),
                priority=fields.get("priority"), catch_up=fields.get("catch_up", False),
                paused=not fields.get("enabled", True),
            )
        except InvalidTaskOptions as exc:
            raise Problem(400, str(exc), errors={"schedule": str(exc)}) from None
        return self.to_json(entry, time.time())

    def update(self, name: str, body: Any) -> dict[str, Any]:
        """Change the fields ``body`` gives (the others keep their values); ``enabled``
        pauses and resumes."""
        entry = self._entry(name)
        fields = parse(body, partial=True, check_name=self.bridge.schedules.get)
        if fields.pop("name", name) != name:
            raise Problem(400, "a schedule cannot be renamed; create a new one",
                          errors={"name": "cannot be changed"})
        if "enabled" in fields:
            fields["paused"] = not fields.pop("enabled")
        if "schedule" in fields and fields["schedule"].next_after(
            dt.datetime.now(dt.UTC)
        ) is None:
            raise Problem(400, "that schedule has no tick after now",
                          errors={"schedule": "has no tick after now"})
        try:
            entry = self.bridge.schedules.update(name, **fields)
        except InvalidTaskOptions as exc:
            raise Problem(400, str(exc), errors={"schedule": str(exc)}) from None
        return self.to_json(entry, time.time())

    def delete(self, name: str) -> None:
        self._entry(name)
        self.bridge.schedules.remove(name)

    def run_now(self, name: str) -> dict[str, Any]:
        """Enqueue the schedule's task now, as a tick at this second would be: 202 ``{"id"}``."""
        entry = self._entry(name)
        task = registered_tasks().get(entry.task)
        if task is None:
            raise conflict(f"task {entry.task!r} is not registered in this process; start the "
                           "dashboard with --imports naming the module that defines it")
        now = time.time()
        args, kwargs = tick_arguments(task, int(now), entry.args, entry.kwargs)
        try:
            result = task.using(
                bridge=self.bridge, queue=entry.queue, priority=entry.priority,
                idempotency_key=f"schedule:{name}:run-{int(now * 1000)}",
            ).enqueue(*args, **kwargs)
        except TaskBridgeError as exc:
            raise Problem(503, f"could not enqueue {entry.task}: {exc}") from None
        return {"id": result.id}
