"""The schedules admin: the store's schedules with their next run and last outcome; adding,
changing, enabling, disabling, running now and removing go through the core's schedule
operations (the dashboard's), so the admin, the dashboard and the CLI agree."""

from __future__ import annotations

import time
from typing import Any

from django.contrib import admin, messages

from taskbridge.plugin import HTTPProblem, ScheduleOperations
from taskbridge_django.admin.common import bridge, report, store_alias
from taskbridge_django.admin.forms import ScheduleForm
from taskbridge_django.models import Schedule

#: Scheduler progress rows share the table; they are not schedules.
#: The store's bookkeeping beside schedules (``~tick:`` states, ``~scheduler:`` presence): a
#: schedule's own name starts with a letter or digit.
BOOKKEEPING_PREFIX = "~"


def _operations() -> ScheduleOperations:
    return ScheduleOperations(bridge())


def _each(model_admin: Any, request: Any, queryset: Any, verb: str, act: Any) -> None:
    done, refused = [], []
    for name in queryset.values_list("name", flat=True):
        try:
            done.append(act(name))
        except HTTPProblem as problem:
            refused.append(problem.detail)
    report(model_admin, request, done, refused, verb)


@admin.action(description="Enable selected schedules", permissions=["change"])
def enable(model_admin: Any, request: Any, queryset: Any) -> None:
    _each(model_admin, request, queryset, "Enabled",
          lambda name: _operations().update(name, {"enabled": True})["name"])


@admin.action(description="Disable selected schedules", permissions=["change"])
def disable(model_admin: Any, request: Any, queryset: Any) -> None:
    _each(model_admin, request, queryset, "Disabled",
          lambda name: _operations().update(name, {"enabled": False})["name"])


@admin.action(description="Run selected schedules now", permissions=["change"])
def run_now(model_admin: Any, request: Any, queryset: Any) -> None:
    _each(model_admin, request, queryset, "Enqueued",
          lambda name: f"{name} as {_operations().run_now(name)['id']}")


class ScheduleAdmin(admin.ModelAdmin):
    form = ScheduleForm
    list_display = ["name"]  # the full list: get_list_display
    search_fields = ["^name"]
    actions = [enable, disable, run_now]
    fieldsets = [
        (None, {"fields": ["name", "task", "enabled"]}),
        ("When", {"fields": ["kind", "cron", "timezone", ("every", "unit"),
                             ("event", "latitude", "longitude"), "at", "catch_up"],
                  "description": "Fill in the fields of the type chosen."}),
        ("Arguments", {"fields": ["args", "kwargs", "queue", "priority"]}),
    ]

    def get_queryset(self, request: Any) -> Any:
        rows = super().get_queryset(request).using(store_alias())
        return rows.exclude(name__startswith=BOOKKEEPING_PREFIX)

    def _summary(self, request: Any, obj: Schedule) -> dict[str, Any]:
        cache: dict[str, dict[str, Any]] = request.__dict__.setdefault("_taskbridge_rows", {})
        if obj.pk not in cache:
            operations = _operations()
            entry = bridge().schedules.get(obj.pk)
            cache[obj.pk] = operations.to_json(entry, time.time()) if entry else {}
        return cache[obj.pk]

    def get_list_display(self, request: Any) -> list[Any]:
        def column(key: str, description: str, boolean: bool = False) -> Any:
            @admin.display(description=description, boolean=boolean)
            def show(obj: Schedule) -> Any:
                value = self._summary(request, obj).get(key)
                return "-" if value is None else value
            return show

        return ["name", column("task", "task"), column("description", "schedule"),
                column("enabled", "enabled", boolean=True), column("next_run", "next run"),
                column("last_outcome", "last outcome")]

    def save_model(self, request: Any, obj: Schedule, form: ScheduleForm, change: bool) -> None:
        body = form.body()
        try:
            if change:
                body.pop("name")
                _operations().update(obj.pk, body)
            else:
                _operations().create(body)
        except HTTPProblem as problem:
            self.message_user(request, problem.detail, messages.ERROR)

    def delete_model(self, request: Any, obj: Schedule) -> None:
        bridge().schedules.remove(obj.pk)

    def delete_queryset(self, request: Any, queryset: Any) -> None:
        for name in queryset.values_list("name", flat=True):
            bridge().schedules.remove(name)
