"""The pluggy plugin registering the ``postgresql`` and ``postgres`` store schemes (the
``taskbridge`` entry point)."""

from __future__ import annotations

from taskbridge import hookimpl
from taskbridge.plugin import StoreFactory


@hookimpl
def taskbridge_stores() -> dict[str, StoreFactory]:
    from taskbridge_postgresql.factory import postgresql_store

    return {"postgresql": postgresql_store, "postgres": postgresql_store}
