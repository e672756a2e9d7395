"""A store failure while a message runs does not lose the message: it is delivered again."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import hueytasks
from huey_testkit import sqlite_url

from taskbridge import Bridge, Status
from taskbridge.plugin import Worker, serving


def test_store_failure_redelivers_the_message(tmp_path: Path) -> None:
    """With the records table gone, the run fails in the store; the message is delivered again
    once the store answers, and then runs."""
    bridge = Bridge(sqlite_url(tmp_path), imports=["hueytasks"])
    try:
        result = hueytasks.add.using(bridge=bridge).enqueue(1, 2)
        huey = bridge.backend.huey("default")  # type: ignore[attr-defined]
        database = tmp_path / "tasks.db"
        with serving(Worker(bridge)):
            with sqlite3.connect(database) as conn:
                conn.execute("alter table records rename to records_away")
            message = huey.dequeue()

            def restore_the_store() -> None:
                with sqlite3.connect(database) as conn:
                    conn.execute("alter table records_away rename to records")

            # The store comes back while the worker waits to deliver the message again.
            threading.Timer(0.5, restore_the_store).start()
            huey.execute(message)
            assert huey.pending_count() == 1
            huey.execute(huey.dequeue())
        assert result.refresh().status is Status.SUCCEEDED and result.value == 3
    finally:
        bridge.close()
