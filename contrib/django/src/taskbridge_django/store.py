"""The Django store: executions, claims, schedules and workers as Django models, in the
project's own database (``"STORE": "django"``, or ``?store=django:<alias>`` on any engine URL).

State changes are the core's (:class:`taskbridge.plugin.TransactionalStore`), run in
``transaction.atomic(using=alias)`` with row locks (``select_for_update``). Inside a transaction
the application has open, they join it: the record and its idempotency claim commit or roll
back with the application's own writes, and the bridge publishes the message after the commit
(:meth:`DjangoStore.publish_after_commit`).
"""

from __future__ import annotations

import builtins
import contextlib
import datetime as dt
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connections, transaction
from django.db.models import Q, QuerySet
from django.db.utils import load_backend
from django.utils import timezone

from taskbridge import EnqueueError, Record, RecordFilter, Status
from taskbridge.plugin import TransactionalStore, dumps_json, loads_json, transitions
from taskbridge_django.models import Claim, Execution, Schedule, WorkerPresence, execution_columns
from taskbridge_django.models import Lease as LeaseRow

Lease = transitions.Lease


def _columns(record: Record) -> dict[str, Any]:
    columns = execution_columns(record)
    if not settings.USE_TZ:
        columns["enqueued"] = timezone.make_naive(columns["enqueued"], dt.UTC)
    return columns


class _Transaction:
    """The store's primitives inside ``transaction.atomic(using=alias)``.

    Records are loaded with a row lock, except the owner of a claim while a new record is
    being created: the claim row's lock already orders that create against the owner's release
    (which deletes the claim row), and taking the two locks in the other order than ``finish``
    does (record, then claim) could deadlock.
    """

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.rows = Execution.objects.using(alias)
        self.claims = Claim.objects.using(alias)
        self.leases = LeaseRow.objects.using(alias)
        self._claim_owners: set[str] = set()

    def load(self, id: str) -> Record | None:
        rows = self.rows if id in self._claim_owners else self.rows.select_for_update()
        document = rows.filter(id=id).values_list("document", flat=True).first()
        return None if document is None else Record.loads(document)

    def insert(self, record: Record) -> None:
        Execution(id=record.id, **_columns(record)).save(using=self.alias, force_insert=True)

    def save(self, record: Record) -> None:
        self.rows.filter(id=record.id).update(**_columns(record))

    def delete(self, id: str) -> None:
        self.rows.filter(id=id).delete()

    def claim(self, key: str) -> str | None:
        locked = self.claims.select_for_update().filter(key=key)
        holder = locked.values_list("record_id", flat=True).first()
        if holder is None:
            # Reserve the key: a racing transaction's insert waits on the primary key until
            # this one ends, then finds the claim this one made.
            self.claims.bulk_create([Claim(key=key, record_id="")], ignore_conflicts=True)
            holder = locked.values_list("record_id", flat=True).first()
        if holder:
            self._claim_owners.add(holder)
        return holder or None

    def set_claim(self, key: str, id: str) -> None:
        if not self.claims.filter(key=key).update(record_id=id):
            Claim(key=key, record_id=id).save(using=self.alias, force_insert=True)

    def release_claim(self, key: str, id: str) -> None:
        self.claims.filter(key=key, record_id=id).delete()

    def finished(self, status: Status, until: float, limit: int) -> list[Record]:
        # Two ranges of the (status, finished_at) index; unset times first, as "oldest".
        rows = self.rows.select_for_update().filter(status=status.value)
        documents = list(rows.filter(finished_at__isnull=True).values_list(
            "document", flat=True)[:limit])
        documents += rows.filter(finished_at__lte=until).order_by("finished_at").values_list(
            "document", flat=True)[: limit - len(documents)]
        return [Record.loads(document) for document in documents]

    def lease(self, key: str) -> Lease | None:
        locked = self.leases.select_for_update().filter(key=key)
        found = locked.values_list("holder", "expires_at").first()
        if found is None:
            # As for claims: reserve the key, so racing transactions wait for this one.
            self.leases.bulk_create([LeaseRow(key=key, holder="", expires_at=0.0)],
                                    ignore_conflicts=True)
            found = locked.values_list("holder", "expires_at").first()
        return None if found is None or not found[0] else Lease(found[0], found[1])

    def set_lease(self, key: str, lease: Lease) -> None:
        self.leases.update_or_create(
            key=key, defaults={"holder": lease.holder, "expires_at": lease.expires_at})

    def delete_lease(self, key: str) -> None:
        self.leases.filter(key=key).delete()

    def drop_leases(self, until: float) -> None:
        self.leases.filter(expires_at__lte=until).delete()

    def write(self, writes: Sequence[Any]) -> None:
        raise TypeError("the Django store has no native writes: it keeps no engine messages")


#: Connections a forked child inherited: kept referenced, never used or closed (see below).
_inherited: list[Any] = []


def _forget_inherited_connections() -> None:
    """In a forked child (RQ's work horse, a prefork pool's process), start without the
    parent's connections: one PostgreSQL socket (or SQLite handle) used by two processes at
    once breaks. The child opens its own. The inherited ones stay referenced so that collecting
    them does not close the parent's session (PostgreSQL would receive the child's Terminate);
    the child's exit drops its copies of their descriptors without a word.

    SQLite cannot be made safe this way: its locks live in process-wide tables the child
    inherits, so a child forked while another thread had the file open may stay locked out.
    Forking pools (RQ's ``fork``, Celery's ``prefork``) want a database server.
    """
    from asgiref.local import Local

    _inherited.append(connections._connections)
    connections._connections = Local(connections.thread_critical)


os.register_at_fork(after_in_child=_forget_inherited_connections)


class _CloseAtThreadExit:
    """Closes a thread's connection when the thread ends.

    Django closes connections when a request ends; a thread that uses the store outside
    requests (an engine's worker thread, the worker's housekeeping, a producer's pool) would
    otherwise leave its connection to the garbage collector. Kept in a ``threading.local``, so
    it is dropped, and closes, when its thread exits.
    """

    def __init__(self, wrapper: Any) -> None:
        self.wrapper = wrapper
        self.pid = os.getpid()

    def __del__(self) -> None:
        raw = getattr(self.wrapper, "connection", None)
        # Never from a forked child: the connection is its parent's.
        if raw is not None and os.getpid() == self.pid:
            # A connection that already broke has nothing left to close.
            with contextlib.suppress(Exception):
                raw.close()


class DjangoStore(TransactionalStore):
    """Records, claims, schedules and workers in the database Django knows as ``alias``."""

    #: A database that cannot be reached right now; workers retry recording outcomes on these.
    transient_errors = (OperationalError, InterfaceError)

    def __init__(self, alias: str = "default") -> None:
        if alias not in connections:
            known = ", ".join(connections) or "none"
            from taskbridge import ConfigurationError

            raise ConfigurationError(
                f"the Django store names database {alias!r}, which settings.DATABASES does not "
                f"define (it has {known}); use 'django' for the default database or "
                "'django:<alias>' with one of those"
            )
        self.alias = alias
        self.location = f"Django database {alias!r}"
        self._threads = threading.local()
        # Import the database backend now, in the thread that opens the store: a process that
        # forks (RQ's work horses) while one of its threads is halfway through that import
        # leaves the child waiting forever on the import's lock.
        load_backend(connections.settings[alias]["ENGINE"])

    def __repr__(self) -> str:
        return f"<DjangoStore {self.alias!r}>"

    def _connection(self) -> Any:
        """This thread's connection to the store's database (closed when a thread other than
        the main one exits)."""
        connection = connections[self.alias]
        if (threading.current_thread() is not threading.main_thread()
                and getattr(self._threads, "guard", None) is None):
            self._threads.guard = _CloseAtThreadExit(connection)
        return connection

    @contextmanager
    def transaction(self) -> Iterator[_Transaction]:
        self._connection()
        try:
            with transaction.atomic(using=self.alias):
                yield _Transaction(self.alias)
        except (OperationalError, InterfaceError):
            self._forget_broken_connection()
            raise

    def _forget_broken_connection(self) -> None:
        """After a lost connection, let the next call open a new one (outside the
        application's transactions, which must see their own error)."""
        connection = connections[self.alias]
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()

    def _objects(self, model: Any) -> QuerySet:
        self._connection()
        return model.objects.using(self.alias)

    @property
    def _rows(self) -> QuerySet:
        return self._objects(Execution)

    # -- the unsent mark: publishing after the application's commit ---------------------------

    def publish_after_commit(
        self, ids: Sequence[str], publish: Callable[[], None], *, now: float
    ) -> bool:
        """See ``taskbridge.plugin.DeferredPublish``: inside an ``atomic`` block on this
        store's database, the records are marked unsent in it and ``publish`` runs on commit."""
        if not connections[self.alias].in_atomic_block:
            return False
        self._rows.filter(id__in=list(ids)).update(unsent_since=now)
        transaction.on_commit(publish, using=self.alias)
        return True

    def take_unsent(self, *, before: float, now: float, limit: int = 100) -> list[Record]:
        with transaction.atomic(using=self.alias):
            rows = self._rows.filter(unsent_since__lt=before).order_by("unsent_since")
            if connections[self.alias].features.has_select_for_update_skip_locked:
                rows = rows.select_for_update(skip_locked=True)
            else:
                rows = rows.select_for_update()
            taken = list(rows.values_list("id", "document")[:limit])
            self._rows.filter(id__in=[id for id, _ in taken]).update(unsent_since=now)
        return [Record.loads(document) for _, document in taken]

    def mark_sent(self, ids: Sequence[str]) -> None:
        self._rows.filter(id__in=list(ids)).update(unsent_since=None)

    # -- reads -------------------------------------------------------------------------------

    def claim_holder(self, key: str) -> str | None:
        holder = self._objects(Claim).filter(key=key).values_list(
            "record_id", flat=True).first()
        return holder or None

    def lease_holder(self, key: str, *, now: float) -> str | None:
        found = self._objects(LeaseRow).filter(key=key).values_list(
            "holder", "expires_at").first()
        return found[0] if found and found[0] and found[1] > now else None

    def get_many(self, ids: Sequence[str]) -> list[Record | None]:
        found: dict[str, Record] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            for document in self._rows.filter(id__in=chunk).values_list("document", flat=True):
                record = Record.loads(document)
                found[record.id] = record
        return [found.get(id) for id in ids]

    def stale(self, *, before: float, limit: int = 100) -> list[Record]:
        rows = self._rows.filter(
            Q(heartbeat_at__lt=before) | Q(heartbeat_at__isnull=True), status=Status.RUNNING.value
        )
        return [Record.loads(d) for d in rows.values_list("document", flat=True)[:limit]]

    def matching(self, filter: RecordFilter) -> QuerySet:
        """The executions ``filter`` selects, as a queryset (the admin's too)."""
        rows = self._rows
        if filter.status is not None:
            rows = rows.filter(status__in=sorted(s.value for s in filter.status))
        if filter.task_name is not None:
            rows = rows.filter(task_name=filter.task_name)
        if filter.queue is not None:
            rows = rows.filter(queue=filter.queue)
        if filter.since is not None:
            rows = rows.filter(enqueued_at__gte=filter.since)
        if filter.until is not None:
            rows = rows.filter(enqueued_at__lt=filter.until)
        if not filter.include_retried:
            rows = rows.filter(retried_as__isnull=True, discarded_at__isnull=True)
        return rows

    def list(
        self, filter: RecordFilter, *, limit: int = 100, offset: int = 0
    ) -> builtins.list[Record]:
        rows = self.matching(filter).order_by("-enqueued_at", "-id")
        documents = rows.values_list("document", flat=True)[offset : offset + limit]
        return [Record.loads(document) for document in documents]

    def count(self, filter: RecordFilter) -> int:
        return int(self.matching(filter).count())

    # -- schedules and workers -----------------------------------------------------------------

    def put_schedule(self, name: str, data: dict[str, Any]) -> None:
        self._objects(Schedule).update_or_create(
            name=name, defaults={"document": dumps_json(data)}
        )

    def get_schedule(self, name: str) -> dict[str, Any] | None:
        rows = self._objects(Schedule).filter(name=name)
        document = rows.values_list("document", flat=True).first()
        return None if document is None else dict(loads_json(document))

    def list_schedules(self) -> dict[str, dict[str, Any]]:
        rows = self._objects(Schedule).values_list("name", "document")
        return {name: dict(loads_json(document)) for name, document in rows}

    def delete_schedule(self, name: str) -> bool:
        deleted, _ = self._objects(Schedule).filter(name=name).delete()
        return bool(deleted)

    def register_worker(self, worker_id: str, info: dict[str, Any], *, ttl: float) -> None:
        now = time.time()
        workers = self._objects(WorkerPresence)
        with transaction.atomic(using=self.alias):
            workers.filter(expires_at__lte=now).delete()
            workers.update_or_create(
                id=worker_id, defaults={"info": dumps_json(info), "expires_at": now + ttl}
            )

    def unregister_worker(self, worker_id: str) -> None:
        self._objects(WorkerPresence).filter(id=worker_id).delete()

    def workers(self) -> builtins.list[dict[str, Any]]:
        rows = self._objects(WorkerPresence).filter(expires_at__gt=time.time())
        return [dict(loads_json(info), id=id) for id, info in rows.values_list("id", "info")]

    def ping(self) -> None:
        try:
            self._objects(Schedule).exists()
        except DatabaseError as exc:
            self._forget_broken_connection()
            raise EnqueueError(
                f"cannot use the Django store on database {self.alias!r}: "
                f"{type(exc).__name__}: {exc}; check that the database answers and that "
                "'manage.py migrate taskbridge_django' has run"
            ) from exc

    def close(self) -> None:
        connection = connections[self.alias]
        if not connection.in_atomic_block:
            connection.close()
