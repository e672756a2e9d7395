"""A store failure while a message runs does not lose the message: it is delivered again."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import hueytasks
from huey_testkit import sqlite_url

from taskbridge import Bridge, Status


def test_store_failure_redelivers_the_message(tmp_path: Path) -> None:
    """With the records table gone, the run fails in the store; the message is rescheduled and
    runs once the store is back."""
    bridge = Bridge(sqlite_url(tmp_path), imports=["hueytasks"])
    try:
        result = hueytasks.add.using(bridge=bridge).enqueue(1, 2)
        huey = bridge.backend.huey("default")  # type: ignore[attr-defined]
        huey.bridge = bridge
        database = tmp_path / "tasks.db"
        with sqlite3.connect(database) as conn:
            conn.execute("alter table records rename to records_away")
        huey.execute(huey.dequeue())
        assert huey.pending_count() == 0 and huey.scheduled_count() == 1
        with sqlite3.connect(database) as conn:
            conn.execute("alter table records_away rename to records")
        later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(seconds=5)
        [again] = huey.read_schedule(later)
        huey.execute(again, later)
        assert result.refresh().status is Status.SUCCEEDED and result.value == 3
    finally:
        bridge.close()
