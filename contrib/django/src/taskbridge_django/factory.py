"""``django``, ``django:<alias>``, ``django://<alias>``: the Django store by URL, with Django set up
from ``DJANGO_SETTINGS_MODULE`` when nothing has set it up yet (a plain ``taskbridge worker``,
the store contract suite's racing processes).

``?database=NAME`` opens the alias's database settings with another database name: how
:func:`isolated` gives the store contract suite a scratch database of its own, which it
creates and migrates once per process, empties around each test and drops at exit.
"""

from __future__ import annotations

import atexit
import os
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from taskbridge import ConfigurationError
from taskbridge.plugin import redact

if TYPE_CHECKING:
    from taskbridge_django.store import DjangoStore

SETTINGS_VARIABLE = "DJANGO_SETTINGS_MODULE"


def setup_django() -> None:
    """Set Django up from ``DJANGO_SETTINGS_MODULE`` unless it already is."""
    from django.apps import apps

    if apps.ready:
        return
    from django.conf import settings

    if not settings.configured and not os.environ.get(SETTINGS_VARIABLE):
        raise ConfigurationError(
            "the django store needs Django's settings: run through 'manage.py taskbridge', or "
            f"set {SETTINGS_VARIABLE} (e.g. {SETTINGS_VARIABLE}=mysite.settings)"
        )
    import django

    django.setup()


def parse(url: str) -> tuple[str, str | None]:
    """The database alias a ``django`` store URL names, and its ``database=`` override."""
    rest, _, query = url.partition("?")
    alias = rest.removeprefix("django").lstrip(":").lstrip("/") or "default"
    options = dict(parse_qsl(query, keep_blank_values=True))
    unknown = sorted(set(options) - {"database"})
    if not rest.startswith("django") or unknown or "/" in alias:
        raise ConfigurationError(
            f"store URL {redact(url)!r}: expected 'django' (the default database) or "
            "'django:<alias>' naming one of settings.DATABASES"
        )
    return alias, options.get("database") or None


def _derived_alias(alias: str, database: str) -> str:
    """An alias for ``alias``'s settings with NAME ``database``, added on first use."""
    from django.db import connections

    derived = f"{alias}@{database}"
    if derived not in connections.settings:
        connections.settings[derived] = {**connections.settings[alias], "NAME": database}
    return derived


def django_store(url: str, *, namespace: str | None = None) -> DjangoStore:
    """The store factory behind the ``django`` scheme (``namespace`` does not apply: the
    database keeps one application's executions)."""
    alias, database = parse(url)
    setup_django()
    from taskbridge_django.store import DjangoStore

    return DjangoStore(_derived_alias(alias, database) if database else alias)


# -- the store contract suite's scratch databases -------------------------------------------

_lock = threading.Lock()
_scratch: dict[str, str] = {}


def _create_scratch(alias: str) -> str:
    """A new database beside ``alias``'s, with the adapter's tables, dropped at exit."""
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    connection = connections[alias]
    if connection.vendor == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="taskbridge-django-contract-"))
        name = str(folder / "store.sqlite3")
    else:
        name = f"taskbridge_contract_{uuid.uuid4().hex[:12]}"
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        atexit.register(_drop, alias, name)
    derived = _derived_alias(alias, name)
    executor = MigrationExecutor(connections[derived])
    executor.migrate(executor.loader.graph.leaf_nodes("taskbridge_django"))
    return name


def _drop(alias: str, name: str) -> None:
    from django.db import connections

    connections[_derived_alias(alias, name)].close()
    with connections[alias].cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _empty(alias: str) -> None:
    from taskbridge_django.models import Claim, Execution, Lease, Schedule, WorkerPresence

    for model in (Execution, Claim, Schedule, WorkerPresence, Lease):
        model.objects.using(alias).all().delete()


@contextmanager
def isolated(url: str, scratch: Path) -> Iterator[str]:
    """For the store contract suite: the URL of an empty store like ``url``'s, in a scratch
    database beside the alias's own (never in it), emptied again on exit."""
    alias, _ = parse(url)
    setup_django()
    with _lock:
        if alias not in _scratch:
            _scratch[alias] = _create_scratch(alias)
        database = _scratch[alias]
    derived = _derived_alias(alias, database)
    _empty(derived)
    try:
        yield f"django:{alias}?database={database}"
    finally:
        _empty(derived)


def _attach(factory: Any) -> None:
    factory.isolated = isolated


_attach(django_store)
