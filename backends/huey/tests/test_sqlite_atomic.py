"""Huey on SQLite: record, idempotency claim and Huey's message are written in one transaction."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import hueytasks
import pytest
from huey_testkit import sqlite_url

from taskbridge import Bridge, EnqueueError


def _huey_rows(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("select count(*) from task").fetchone()[0])


def test_one_enqueue_writes_the_record_and_the_huey_row(tmp_path: Path) -> None:
    """An enqueue leaves exactly one Huey row and one record; a deduplicated one adds neither."""
    bridge = Bridge(sqlite_url(tmp_path), imports=["hueytasks"])
    try:
        first = hueytasks.add.using(bridge=bridge, idempotency_key="k").enqueue(1, 2)
        again = hueytasks.add.using(bridge=bridge, idempotency_key="k").enqueue(1, 2)
        assert again.deduplicated and again.id == first.id
        assert _huey_rows(tmp_path / "tasks.db") == 1
        assert bridge.count() == 1
    finally:
        bridge.close()


def test_a_message_that_cannot_be_written_leaves_no_record_and_no_claim(tmp_path: Path) -> None:
    """If Huey's row fails to insert, the record and its idempotency claim roll back with it."""
    bridge = Bridge(sqlite_url(tmp_path), imports=["hueytasks"])
    try:
        hueytasks.add.using(bridge=bridge).enqueue(0, 0)  # creates Huey's tables
        with sqlite3.connect(tmp_path / "tasks.db") as conn:
            conn.execute(
                "create trigger refuse before insert on task "
                "begin select raise(abort, 'disk says no'); end"
            )
        with pytest.raises(EnqueueError, match="disk says no"):
            hueytasks.add.using(bridge=bridge, idempotency_key="k2").enqueue(1, 2)
        assert bridge.count() == 1  # only the first, successful enqueue
        with sqlite3.connect(tmp_path / "tasks.db") as conn:
            conn.execute("drop trigger refuse")
        later = hueytasks.add.using(bridge=bridge, idempotency_key="k2").enqueue(1, 2)
        assert not later.deduplicated  # the failed enqueue did not keep the key
    finally:
        bridge.close()
