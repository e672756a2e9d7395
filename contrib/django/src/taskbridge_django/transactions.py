"""Enqueue on commit: what an enqueue inside ``transaction.atomic()`` does.

With the Django store on the transaction's database, the record and its idempotency claim are
written in the transaction and the bridge publishes after the commit
(``DjangoStore.publish_after_commit``). With any other store, ``ENQUEUE_ON_COMMIT`` defers the
whole enqueue to the commit (:func:`enqueue_on_commit`); a rollback then leaves nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from taskbridge import Bridge
from taskbridge.plugin import AfterCommit


def enqueue_on_commit(bridge: Bridge, alias: str) -> AfterCommit:
    """The bridge's ``defer_enqueue``: inside an ``atomic`` block on ``alias``, run the enqueue
    on commit, unless the bridge's store already writes into that transaction."""
    from django.db import connections, transaction

    from taskbridge_django.store import DjangoStore

    def defer(action: Callable[[], None]) -> bool:
        connection = connections[alias]
        if not connection.in_atomic_block:
            return False
        store = bridge.store
        if isinstance(store, DjangoStore) and store.alias == alias:
            return False
        transaction.on_commit(action, using=alias)
        return True

    return defer
