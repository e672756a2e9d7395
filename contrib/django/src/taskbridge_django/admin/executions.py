"""The executions admin: a changelist that stays fast on millions of rows (no full count, filters
from the registry rather than ``DISTINCT`` scans, an indexed date hierarchy), retry and cancel
through the core, and a read-only detail page."""

from __future__ import annotations

import datetime as dt
import json
from functools import cached_property
from typing import Any

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join

from taskbridge import Status
from taskbridge.plugin import ExecutionOperations, HTTPProblem, registered_tasks
from taskbridge_django.admin.common import bridge, report, store_alias
from taskbridge_django.models import Execution

COLOURS = {
    Status.PENDING: "#6b7280", Status.RUNNING: "#2563eb", Status.RETRYING: "#d97706",
    Status.SUCCEEDED: "#15803d", Status.FAILED: "#b91c1c", Status.CANCELED: "#7c3aed",
}
#: The changelist counts matching rows up to this many, never more.
COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    """Counts at most ``COUNT_CAP + 1`` rows (``SELECT COUNT(*) FROM (... LIMIT n)``): on a
    table of millions, a full count would cost more than the page itself."""

    @cached_property
    def count(self) -> int:
        return int(self.object_list[: COUNT_CAP + 1].count())


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [(status.value, status.value.capitalize()) for status in Status]

    def queryset(self, request: Any, queryset: Any) -> Any:
        return queryset.filter(status=self.value()) if self.value() else queryset


class TaskFilter(admin.SimpleListFilter):
    """The registered tasks: a ``DISTINCT task_name`` would read the whole table."""

    title = "task"
    parameter_name = "task"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [(name, name) for name in sorted(registered_tasks())]

    def queryset(self, request: Any, queryset: Any) -> Any:
        return queryset.filter(task_name=self.value()) if self.value() else queryset


class QueueFilter(admin.SimpleListFilter):
    """The queues the bridge knows of: the default, routes' and tasks' queues."""

    title = "queue"
    parameter_name = "queue"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        settings = bridge().settings
        names = {settings.default_queue, *settings.routes.values()}
        names.update(task.queue for task in registered_tasks().values() if task.queue)
        return [(name, name) for name in sorted(names)]

    def queryset(self, request: Any, queryset: Any) -> Any:
        return queryset.filter(queue=self.value()) if self.value() else queryset


def _time(timestamp: float | None) -> dt.datetime | str:
    return "-" if timestamp is None else dt.datetime.fromtimestamp(timestamp, dt.UTC)


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def _pre(text: str) -> str:
    return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)


@admin.action(description="Retry selected executions (FAILED or CANCELED)",
              permissions=["operate"])
def retry_selected(model_admin: Any, request: Any, queryset: Any) -> None:
    operations = ExecutionOperations(bridge())
    done, refused = [], []
    for id in queryset.values_list("id", flat=True):
        try:
            done.append(f"{id} as {operations.retry(id)['id']}")
        except HTTPProblem as problem:
            refused.append(problem.detail)
    report(model_admin, request, done, refused, "Retried")


@admin.action(description="Cancel selected executions", permissions=["operate"])
def cancel_selected(model_admin: Any, request: Any, queryset: Any) -> None:
    operations = ExecutionOperations(bridge())
    done, refused = [], []
    for id in queryset.values_list("id", flat=True):
        try:
            operations.cancel(id)
            done.append(id)
        except HTTPProblem as problem:
            refused.append(problem.detail)
    report(model_admin, request, done, refused, "Canceled")


class ExecutionAdmin(admin.ModelAdmin):
    list_display = ["short_id", "task_name", "colored_status", "queue", "attempts",
                    "enqueued_time", "started_time", "finished_time", "duration"]
    list_filter = [StatusFilter, TaskFilter, QueueFilter]
    date_hierarchy = "enqueued"
    search_fields = ["^id", "=task_name", "=idempotency_key"]
    search_help_text = "An id or its beginning, a task's name, or an idempotency key"
    actions = [retry_selected, cancel_selected]
    paginator = CappedPaginator
    count_cap = COUNT_CAP
    show_full_result_count = False
    # Facet counts are one COUNT per filter choice over the whole table.
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50
    ordering = ["-enqueued_at"]
    fieldsets = [
        (None, {"fields": ["id", "task_name", "colored_status", "queue", "priority",
                           "attempts_of", "worker", "idempotency_key", "retried_as"]}),
        ("Times", {"fields": ["enqueued_time", "run_at_time", "started_time",
                              "finished_time", "duration"]}),
        ("Arguments and outcome", {"fields": ["arguments", "value", "error", "traceback"]}),
        ("Progress", {"fields": ["progress", "progress_log"]}),
        ("Attempts", {"fields": ["attempt_history"]}),
    ]
    readonly_fields = [field for _, options in fieldsets for field in options["fields"]]

    def get_queryset(self, request: Any) -> Any:
        return super().get_queryset(request).using(store_alias())

    def get_search_results(self, request: Any, queryset: Any, search_term: str) -> Any:
        """A registered task's name selects its executions through the task index; anything
        else is an id prefix or an idempotency key, each an indexed lookup (an ``OR`` with a
        task-name match would make the database scan every row)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        if term in registered_tasks():
            return queryset.filter(task_name=term), False
        return queryset.filter(Q(id__startswith=term) | Q(idempotency_key=term)), False

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_operate_permission(self, request: Any) -> bool:
        """Retry and cancel: Django's change permission on executions (the detail page stays
        read-only for everyone: executions change only through the core)."""
        return bool(request.user.has_perm("taskbridge_django.change_execution"))

    def changelist_view(self, request: Any, extra_context: dict[str, Any] | None = None) -> Any:
        try:
            dashboard = reverse("taskbridge:dashboard", kwargs={"path": ""})
        except NoReverseMatch:
            dashboard = None
        context = {"taskbridge_dashboard": dashboard}
        return super().changelist_view(request, {**context, **(extra_context or {})})

    # -- columns -----------------------------------------------------------------------------

    @admin.display(description="id", ordering="id")
    def short_id(self, obj: Execution) -> str:
        return str(obj.id)[:12]

    @admin.display(description="status", ordering="status")
    def colored_status(self, obj: Execution) -> str:
        status = Status(obj.status)
        return format_html(
            '<span style="color: #fff; background: {}; padding: 1px 6px; border-radius: 3px; '
            'font-weight: 600">{}</span>', COLOURS[status], status.value,
        )

    @admin.display(description="enqueued", ordering="enqueued_at")
    def enqueued_time(self, obj: Execution) -> dt.datetime | str:
        return _time(obj.enqueued_at)

    @admin.display(description="run at")
    def run_at_time(self, obj: Execution) -> dt.datetime | str:
        return _time(obj.record.run_at)

    @admin.display(description="started", ordering="started_at")
    def started_time(self, obj: Execution) -> dt.datetime | str:
        return _time(obj.started_at)

    @admin.display(description="finished", ordering="finished_at")
    def finished_time(self, obj: Execution) -> dt.datetime | str:
        return _time(obj.finished_at)

    @admin.display(description="duration")
    def duration(self, obj: Execution) -> str:
        if obj.started_at is None or obj.finished_at is None:
            return "-"
        return f"{max(0.0, obj.finished_at - obj.started_at):.3f} s"

    # -- the detail page ---------------------------------------------------------------------

    @admin.display(description="priority")
    def priority(self, obj: Execution) -> int:
        return obj.record.priority

    @admin.display(description="attempts")
    def attempts_of(self, obj: Execution) -> str:
        return f"{obj.record.attempts} of {obj.record.max_attempts}"

    @admin.display(description="worker")
    def worker(self, obj: Execution) -> str:
        return obj.record.worker or "-"

    @admin.display(description="arguments")
    def arguments(self, obj: Execution) -> str:
        record = obj.record
        return _pre(_json({"args": list(record.args), "kwargs": record.kwargs}))

    @admin.display(description="value")
    def value(self, obj: Execution) -> str:
        record = obj.record
        return _pre(_json(record.value)) if record.status is Status.SUCCEEDED else "-"

    @admin.display(description="error")
    def error(self, obj: Execution) -> str:
        error = obj.record.error
        return f"{error.type}: {error.message}" if error else "-"

    @admin.display(description="traceback")
    def traceback(self, obj: Execution) -> str:
        error = obj.record.error
        return _pre(error.traceback) if error and error.traceback else "-"

    @admin.display(description="progress")
    def progress(self, obj: Execution) -> str:
        progress = obj.record.progress
        if progress is None:
            return "-"
        percent, message = progress
        return format_html('<progress max="100" value="{}"></progress> {}% {}',
                           percent, f"{percent:g}", message)

    @admin.display(description="progress messages")
    def progress_log(self, obj: Execution) -> str:
        entries = _extra(obj, "progress_log")
        if not entries:
            return "-"
        return format_html_join("", "<div>{}</div>", ((_entry_text(e),) for e in entries))

    @admin.display(description="attempt history")
    def attempt_history(self, obj: Execution) -> str:
        entries = _extra(obj, "attempt_history")
        if not entries:
            return "-"
        rows = format_html_join("", "<tr>{}</tr>", (
            (format_html_join("", "<td>{}</td>", ((value,) for value in _attempt_cells(e))),)
            for e in entries
        ))
        return format_html(
            "<table><thead><tr><th>attempt</th><th>worker</th><th>started</th>"
            "<th>finished</th><th>outcome</th><th>error</th><th>CPU</th><th>peak memory</th>"
            "</tr></thead><tbody>{}</tbody></table>", rows,
        )


def _extra(obj: Execution, name: str) -> list[Any]:
    """A field newer records carry (attempt history, the progress log): from the record, or
    from the stored document when this core's records do not have it."""
    value = getattr(obj.record, name, None)
    if value is None:
        value = json.loads(obj.document).get(name)
    return list(value or ())


def _as_dict(entry: Any) -> dict[str, Any]:
    if isinstance(entry, dict):
        return entry
    to_dict = getattr(entry, "to_dict", None)
    return dict(to_dict()) if callable(to_dict) else {"value": entry}


def _entry_text(entry: Any) -> str:
    data = _as_dict(entry)
    when = data.get("at") or data.get("time")
    stamp = f"{_time(when):%Y-%m-%d %H:%M:%S} " if isinstance(when, int | float) else ""
    percent = data.get("percent")
    return f"{stamp}{'' if percent is None else f'{percent:g}% '}{data.get('message', '')}"


def _attempt_cells(entry: Any) -> list[Any]:
    data = _as_dict(entry)
    error = data.get("error") or {}
    return [
        data.get("attempt", "-"), data.get("worker") or "-",
        _time(data.get("started_at")), _time(data.get("finished_at")),
        data.get("outcome") or data.get("status") or "-",
        f"{error.get('type')}: {error.get('message')}" if isinstance(error, dict) and error
        else "-",
        "-" if data.get("cpu_time") is None else f"{data['cpu_time']:.3f} s",
        "-" if data.get("peak_memory") is None else f"{data['peak_memory'] / 2**20:.1f} MiB",
    ]
