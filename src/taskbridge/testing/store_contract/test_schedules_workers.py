"""Stored schedules, worker presence, and reaching the store."""

from __future__ import annotations

from taskbridge.plugin import StateStore
from taskbridge.testing.polling import wait_for


def test_schedules_crud(store: StateStore) -> None:
    """put/get/list/delete schedules; put replaces; delete tells whether there was one."""
    assert store.get_schedule("nightly") is None
    assert store.list_schedules() == {}
    store.put_schedule("nightly", {"cron": "0 3 * * *", "args": [1, {"a": None}]})
    store.put_schedule("hourly", {"every": 3600.0})
    store.put_schedule("nightly", {"cron": "0 4 * * *", "paused": True})
    assert store.get_schedule("nightly") == {"cron": "0 4 * * *", "paused": True}
    assert store.list_schedules() == {
        "nightly": {"cron": "0 4 * * *", "paused": True}, "hourly": {"every": 3600.0}
    }
    assert store.delete_schedule("nightly") is True
    assert store.delete_schedule("nightly") is False
    assert list(store.list_schedules()) == ["hourly"]


def test_workers_register_unregister_and_expire(store: StateStore) -> None:
    """Announced workers are listed until unregistered or their ttl runs out."""
    store.register_worker("w1", {"host": "h", "queues": ["default"]}, ttl=60.0)
    store.register_worker("w2", {"host": "h2"}, ttl=0.2)
    found = {w["id"]: w for w in store.workers()}
    assert found["w1"] == {"id": "w1", "host": "h", "queues": ["default"]}
    store.unregister_worker("w1")
    wait_for(lambda: all(w["id"] != "w2" for w in store.workers()), 5.0,
             "worker w2 to expire after its ttl")
    assert store.workers() == []
    store.unregister_worker("never-registered")


def test_ping_and_close(store: StateStore) -> None:
    """ping succeeds on a reachable store."""
    store.ping()
