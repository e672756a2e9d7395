"""The Django store's tables: executions, idempotency claims, schedules and workers.

An execution keeps the record's whole JSON document (``document``) beside the columns the store
and the admin filter, sort and search on, so fields the core adds to records later (attempt
history, a progress log) are kept without a schema change. The document is JSON text rather than
PostgreSQL's ``jsonb``, which refuses ``\\u0000``, a valid JSON string and so a valid task
argument that every other store keeps.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q

from taskbridge import Record, Status

STATUS_CHOICES = [(status.value, status.value.capitalize()) for status in Status]
_STEPS = {"year": "years", "month": "months", "day": "days"}


class ExecutionQuerySet(models.QuerySet):
    """Executions; ``datetimes("enqueued", ...)`` (the admin's date hierarchy) probes each
    candidate period with an indexed ``EXISTS`` instead of a ``DISTINCT`` over every row."""

    def datetimes(self, field_name: str, kind: str, order: str = "ASC",
                  tzinfo: Any = None) -> Any:
        if field_name != "enqueued" or kind not in _STEPS:
            return super().datetimes(field_name, kind, order, tzinfo)
        import datetime as dt

        from django.db.models import Max, Min
        from django.utils import timezone

        bounds = self.aggregate(first=Min("enqueued_at"), last=Max("enqueued_at"))
        if bounds["first"] is None:
            return []
        zone = tzinfo or (timezone.get_current_timezone() if timezone.is_aware(
            timezone.now()) else dt.UTC)
        first = dt.datetime.fromtimestamp(bounds["first"], zone)
        last = dt.datetime.fromtimestamp(bounds["last"], zone)
        start = first.replace(
            month=1 if kind == "year" else first.month, day=1 if kind != "day" else first.day,
            hour=0, minute=0, second=0, microsecond=0,
        )
        found = []
        while start <= last:
            end = _next_period(start, kind)
            # Ordered by time, so the planner walks a time index (a bare EXISTS may scan).
            first = self.filter(enqueued_at__gte=start.timestamp(),
                                enqueued_at__lt=end.timestamp()).order_by("enqueued_at")
            if first.values_list("enqueued_at", flat=True)[:1]:
                found.append(start)
            start = end
        return found if order == "ASC" else found[::-1]


def _next_period(start: Any, kind: str) -> Any:
    import datetime as dt

    if kind == "day":
        return (start + dt.timedelta(days=1)).replace(hour=0)
    if kind == "month":
        return start.replace(year=start.year + (start.month == 12),
                             month=start.month % 12 + 1)
    return start.replace(year=start.year + 1)


class Execution(models.Model):
    """One task execution (a record of the core's store protocol)."""

    id = models.CharField(primary_key=True, max_length=64)
    task_name = models.CharField("task", max_length=200)
    queue = models.CharField(max_length=100)
    status = models.CharField(max_length=10, choices=STATUS_CHOICES)
    attempts = models.PositiveIntegerField(default=0)
    idempotency_key = models.TextField(null=True, blank=True)
    enqueued_at = models.FloatField(help_text="Unix time")
    #: ``enqueued_at`` as a date and time, for the admin's date hierarchy.
    enqueued = models.DateTimeField()
    started_at = models.FloatField(null=True, blank=True)
    finished_at = models.FloatField(null=True, blank=True)
    heartbeat_at = models.FloatField(null=True, blank=True)
    retried_as = models.CharField(max_length=64, null=True, blank=True)
    #: Set when the execution was taken off the dead-letter list (``bridge.discard``).
    discarded_at = models.FloatField(null=True, blank=True)
    #: Set while the message of a record written in an application's transaction is not known
    #: to be sent (the time it was marked); cleared once it is.
    unsent_since = models.FloatField(null=True, blank=True)
    document = models.TextField()

    objects = ExecutionQuerySet.as_manager()

    class Meta:
        db_table = "taskbridge_execution"
        verbose_name = "execution"
        ordering = ["-enqueued_at"]
        indexes = [
            models.Index(fields=["-enqueued_at"], name="tb_exec_enqueued"),
            models.Index(fields=["enqueued"], name="tb_exec_enqueued_time"),
            models.Index(fields=["status", "-enqueued_at"], name="tb_exec_status"),
            models.Index(fields=["task_name", "-enqueued_at"], name="tb_exec_task"),
            models.Index(fields=["queue", "-enqueued_at"], name="tb_exec_queue"),
            models.Index(fields=["status", "heartbeat_at"], name="tb_exec_heartbeat"),
            models.Index(fields=["finished_at"], name="tb_exec_finished"),
            models.Index(fields=["status", "finished_at"], name="tb_exec_status_finished"),
            models.Index(fields=["idempotency_key"], name="tb_exec_key"),
            models.Index(fields=["unsent_since"], name="tb_exec_unsent",
                         condition=Q(unsent_since__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.task_name} [{self.id}]"

    @property
    def record(self) -> Record:
        """The core's record, from the document."""
        cached: Record | None = getattr(self, "_record", None)
        if cached is None:
            cached = self._record = Record.loads(self.document)
        return cached


class Claim(models.Model):
    """An idempotency key and the execution it points at; the primary key decides races."""

    key = models.TextField(primary_key=True)
    #: Empty while a transaction has reserved the key but not pointed it anywhere yet.
    record_id = models.CharField(max_length=64, db_index=True)

    class Meta:
        db_table = "taskbridge_claim"


class Schedule(models.Model):
    """A stored schedule (its JSON document), or a scheduler's progress (``~tick:<name>``)."""

    name = models.CharField(primary_key=True, max_length=200)
    document = models.TextField()

    class Meta:
        db_table = "taskbridge_schedule"
        ordering = ["name"]

    def __str__(self) -> str:
        return str(self.name)


class Lease(models.Model):
    """A lease (a scheduler's tick, a worker's purge turn): who holds it, until when."""

    key = models.CharField(primary_key=True, max_length=255)
    holder = models.CharField(max_length=200)
    expires_at = models.FloatField(db_index=True)

    class Meta:
        db_table = "taskbridge_lease"


class WorkerPresence(models.Model):
    """A live worker's announcement, renewed while it runs."""

    id = models.CharField(primary_key=True, max_length=200)
    info = models.TextField()
    expires_at = models.FloatField(db_index=True)

    class Meta:
        db_table = "taskbridge_worker"
        verbose_name = "worker"


def execution_columns(record: Record) -> dict[str, Any]:
    """The columns an execution row keeps beside its document."""
    import datetime as dt

    return {
        "task_name": record.task_name,
        "queue": record.queue,
        "status": record.status.value,
        "attempts": record.attempts,
        "idempotency_key": record.idempotency_key,
        "enqueued_at": record.enqueued_at,
        "enqueued": dt.datetime.fromtimestamp(record.enqueued_at, dt.UTC),
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "heartbeat_at": record.heartbeat_at,
        "retried_as": record.retried_as,
        "discarded_at": record.discarded_at,
        "document": record.dumps(),
    }
