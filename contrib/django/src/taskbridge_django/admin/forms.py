"""The schedule form: one page for cron, interval, solar and one-time schedules, checked by the
core's schedule validation (the dashboard's) and against the task's signature."""

from __future__ import annotations

import inspect
import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from taskbridge import InvalidTaskOptions, get_bridge
from taskbridge.plugin import HTTPProblem, parse_schedule, registered_tasks
from taskbridge_django.models import Schedule

KINDS = [("cron", "Cron expression"), ("every", "Interval"), ("solar", "Solar event"),
         ("at", "One time")]
UNITS = [("seconds", "seconds"), ("minutes", "minutes"), ("hours", "hours"), ("days", "days")]
EVENTS = [(event, event) for event in ("dawn", "sunrise", "noon", "sunset", "dusk")]
#: Where the core's field names (``schedule.expr``) show in this form.
FIELDS = {
    "name": "name", "task": "task", "args": "args", "kwargs": "kwargs", "queue": "queue",
    "priority": "priority", "enabled": "enabled", "catch_up": "catch_up",
    "schedule.type": "kind", "schedule.expr": "cron", "schedule.tz": "timezone",
    "schedule.interval": "every", "schedule.when": "at", "schedule.event": "event",
    "schedule.latitude": "latitude", "schedule.longitude": "longitude", "schedule": "kind",
}


def _task_choices() -> list[tuple[str, str]]:
    return [("", "---------")] + [(name, name) for name in sorted(registered_tasks())]


def check_signature(task_name: str, args: list[Any], kwargs: dict[str, Any]) -> str | None:
    """Why the task cannot be called with a tick's timestamp, ``args`` and ``kwargs``, or
    ``None`` when it can (a tick passes the timestamp first, then ``args``)."""
    task = registered_tasks().get(task_name)
    if task is None:
        return None
    parameters = list(inspect.signature(task.func).parameters.values())
    if task.context:
        parameters = parameters[1:]
    signature = inspect.Signature(parameters)
    try:
        signature.bind(0, *args, **kwargs)
    except TypeError as exc:
        return (f"{task_name}{signature} cannot take the tick's timestamp followed by these "
                f"arguments: {exc}")
    return None


class ScheduleForm(forms.ModelForm):
    name = forms.CharField(max_length=200, help_text="Unique; cannot be changed later.")
    task = forms.ChoiceField(choices=_task_choices)
    kind = forms.ChoiceField(label="type", choices=KINDS, initial="cron")
    cron = forms.CharField(label="cron expression", required=False,
                           help_text="Five fields, e.g. */5 * * * *")
    timezone = forms.CharField(label="time zone", required=False, initial="UTC")
    every = forms.FloatField(label="every", required=False, min_value=0)
    unit = forms.ChoiceField(choices=UNITS, initial="minutes", required=False)
    event = forms.ChoiceField(choices=EVENTS, required=False)
    latitude = forms.FloatField(required=False)
    longitude = forms.FloatField(required=False)
    at = forms.CharField(label="at", required=False,
                         help_text="ISO 8601 with an offset, e.g. 2030-01-01T09:00:00+00:00")
    args = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False,
                           initial="[]", help_text="A JSON array, passed after the tick's "
                                                   "Unix timestamp")
    kwargs = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False,
                             initial="{}", help_text="A JSON object")
    queue = forms.CharField(required=False, help_text="Empty: the task's queue")
    priority = forms.IntegerField(required=False, min_value=-100, max_value=100)
    enabled = forms.BooleanField(required=False, initial=True)
    catch_up = forms.BooleanField(required=False, help_text="Run missed ticks after downtime")

    class Meta:
        model = Schedule
        fields = ["name"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["task"].choices = _task_choices()
        if self.instance.pk:
            self.fields["name"].disabled = True
            self._fill_from(self.instance.pk)

    def _fill_from(self, name: str) -> None:
        entry = get_bridge().schedules.get(name)
        if entry is None:
            return
        schedule = entry.schedule.to_dict()
        initial: dict[str, Any] = {
            "name": name, "task": entry.task, "kind": schedule["type"],
            "args": json.dumps(list(entry.args)), "kwargs": json.dumps(dict(entry.kwargs)),
            "queue": entry.queue or "", "priority": entry.priority,
            "enabled": not entry.paused, "catch_up": entry.catch_up,
        }
        if schedule["type"] == "cron":
            initial.update(cron=schedule["expr"], timezone=schedule["tz"])
        elif schedule["type"] == "every":
            unit, value = next(((u, schedule[u]) for u, _ in reversed(UNITS) if schedule[u]),
                               ("seconds", 0))
            initial.update(every=value, unit=unit)
        elif schedule["type"] == "solar":
            initial.update(event=schedule["event"], latitude=schedule["latitude"],
                           longitude=schedule["longitude"])
        else:
            initial.update(at=schedule["when"])
        self.initial.update(initial)

    def body(self) -> dict[str, Any]:
        """The form as the core's schedule document (what the dashboard's API takes)."""
        data = self.cleaned_data
        kind = data.get("kind")
        schedule: dict[str, Any] = {"type": kind}
        if kind == "cron":
            schedule.update(expr=data.get("cron") or "", tz=data.get("timezone") or "UTC")
        elif kind == "every":
            schedule[data.get("unit") or "seconds"] = data.get("every") or 0
        elif kind == "solar":
            schedule.update(event=data.get("event"), latitude=data.get("latitude") or 0,
                            longitude=data.get("longitude") or 0)
        elif kind == "at":
            schedule["when"] = data.get("at") or ""
        body = {
            "name": data.get("name"), "task": data.get("task"), "schedule": schedule,
            "args": data.get("args") or "[]", "kwargs": data.get("kwargs") or "{}",
            "enabled": bool(data.get("enabled")), "catch_up": bool(data.get("catch_up")),
            "queue": data.get("queue") or None, "priority": data.get("priority"),
        }
        return body

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean()
        if self.errors:
            return cleaned
        bridge = get_bridge()
        creating = not self.instance.pk
        if creating and bridge.schedules.get(cleaned["name"]) is not None:
            self.add_error("name", "a schedule with this name exists; change that one instead")
            return cleaned
        body = self.body()
        errors: dict[str, str] = {}
        try:
            parse_schedule(body, partial=False, check_name=bridge.schedules.get)
        except HTTPProblem as problem:
            if not problem.errors:
                raise ValidationError(problem.detail) from None
            errors = problem.errors
        except InvalidTaskOptions as exc:
            raise ValidationError(str(exc)) from None
        if not {"task", "args", "kwargs"} & set(errors):
            mismatch = check_signature(body["task"], json.loads(body["args"]),
                                       json.loads(body["kwargs"]))
            if mismatch:
                errors["args"] = mismatch
        for field, message in errors.items():
            self.add_error(FIELDS.get(field), message)
        return cleaned
