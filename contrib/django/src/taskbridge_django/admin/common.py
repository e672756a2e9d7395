"""What both admins share: the bridge they act through, the store alias they read, and the
core's refusals turned into admin messages."""

from __future__ import annotations

from typing import Any

from django.contrib import messages

from taskbridge import Bridge, ConfigurationError, TaskBridgeError, get_bridge


def bridge() -> Bridge:
    """The project's bridge (``settings.TASKBRIDGE``): the one the admin's actions use."""
    return get_bridge()


def store_alias() -> str:
    """The database the Django store keeps records in (``default`` when it is not in use)."""
    from taskbridge_django.store import DjangoStore

    try:
        store = bridge().store
    except (ConfigurationError, TaskBridgeError):
        return "default"
    return store.alias if isinstance(store, DjangoStore) else "default"


def report(model_admin: Any, request: Any, done: list[str], refused: list[str],
           verb: str) -> None:
    """One success message for what was done, one warning per refusal (the core's wording)."""
    if done:
        model_admin.message_user(request, f"{verb} {len(done)}: {', '.join(done)}",
                                 messages.SUCCESS)
    for reason in refused:
        model_admin.message_user(request, reason, messages.WARNING)
