"""taskbridge for Django: settings, the Django store, enqueue on commit, the admin,
``manage.py taskbridge``, the dashboard in a URLconf (add ``"taskbridge_django"`` to
``INSTALLED_APPS``), and ``TaskBridgeBackend``, a backend for Django's own task API."""

from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # Imported on first use: Django's task API (and Django's settings) only for projects that
    # name the backend in settings.TASKS.
    if name == "TaskBridgeBackend":
        from taskbridge_django.backend import TaskBridgeBackend

        return TaskBridgeBackend
    raise AttributeError(f"module 'taskbridge_django' has no attribute {name!r}")
