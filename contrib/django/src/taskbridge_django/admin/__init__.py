"""The admin: executions (list, filters, search, retry and cancel, read-only detail) and
schedules (forms for every kind, enable, disable, run now), registered when the records live
in the Django store."""

from __future__ import annotations

from django.contrib import admin

from taskbridge_django.admin.executions import ExecutionAdmin
from taskbridge_django.admin.schedules import ScheduleAdmin
from taskbridge_django.models import Execution, Schedule

__all__ = ["ExecutionAdmin", "ScheduleAdmin"]

admin.site.register(Execution, ExecutionAdmin)
admin.site.register(Schedule, ScheduleAdmin)
