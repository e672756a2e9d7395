"""Driver errors never leak from public calls: reads and changes raise StoreUnavailable, sends
raise EnqueueError, each with the driver's error as ``__cause__``."""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

import taskbridge
from taskbridge import (
    Bridge,
    EnqueueError,
    Every,
    Result,
    StoreUnavailable,
    TaskBridgeError,
    task,
)
from taskbridge._record import Record
from taskbridge._status import Status
from taskbridge.plugin import translated


@task(name="unavailable.echo")
def echo(value: Any = None) -> Any:
    return value


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def down() -> Iterator[Bridge]:
    """A bridge whose Redis store listens nowhere."""
    bridge = Bridge(f"memory://?store=redis://127.0.0.1:{closed_port()}/0")
    yield bridge
    bridge.close()


def a_result(bridge: Bridge) -> Result:
    record = Record(id="r1", task_name=echo.name, queue="default", status=Status.PENDING,
                    enqueued_at=1.0)
    return Result(bridge, record)


READS: dict[str, Callable[[Bridge], Any]] = {
    "get_result": lambda b: b.get_result("r1"),
    "cancel": lambda b: b.cancel("r1"),
    "list": lambda b: b.list(),
    "count": lambda b: b.count(status=Status.FAILED),
    "failed": lambda b: b.failed(),
    "Result.refresh": lambda b: a_result(b).refresh(),
    "Result.wait": lambda b: a_result(b).wait(timeout=5),
    "Result.cancel": lambda b: a_result(b).cancel(),
    "schedules.list": lambda b: b.schedules.list(),
    "schedules.get": lambda b: b.schedules.get("nightly"),
    "schedules.add": lambda b: b.schedules.add("nightly", echo, Every(hours=1)),
    "schedules.pause": lambda b: b.schedules.pause("nightly"),
    "schedules.remove": lambda b: b.schedules.remove("nightly"),
}


@pytest.mark.parametrize("call", READS.values(), ids=READS.keys())
def test_reads_and_changes_raise_store_unavailable(down: Bridge, call: Any) -> None:
    """Every public read or change on an unreachable store raises StoreUnavailable (also a
    ConnectionError) naming what it tried and where, from the driver's error."""
    with pytest.raises(StoreUnavailable) as caught:
        call(down)
    assert isinstance(caught.value, ConnectionError | TaskBridgeError)
    assert isinstance(caught.value.__cause__, redis.ConnectionError)
    message = str(caught.value)
    assert message.startswith("could not ") and "127.0.0.1" in message
    assert "check that the server is running" in message


@pytest.mark.parametrize("send", [
    lambda b: echo.using(bridge=b).enqueue(1),
    lambda b: echo.using(bridge=b).enqueue_many([(1,), (2,)]),
    lambda b: b.retry("r1"),
], ids=["enqueue", "enqueue_many", "retry"])
def test_sends_raise_enqueue_error_not_store_unavailable(down: Bridge, send: Any) -> None:
    """A call that sends a task raises EnqueueError, with the driver's error behind it."""
    with pytest.raises(EnqueueError) as caught:
        send(down)
    assert not isinstance(caught.value, StoreUnavailable)
    cause = caught.value.__cause__
    assert isinstance(cause, redis.ConnectionError | StoreUnavailable | EnqueueError)


def test_an_unreadable_sqlite_file_is_store_unavailable(tmp_path: Path) -> None:
    """sqlite3's errors (a file that is not a database) are translated as well."""
    path = tmp_path / "tasks.db"
    bridge = Bridge(f"memory://?store=sqlite:///{path}")
    bridge.store.close()
    for leftover in tmp_path.iterdir():
        leftover.unlink()
    path.write_bytes(b"this is not an SQLite database" * 100)
    with pytest.raises(StoreUnavailable, match=r"tasks\.db") as caught:
        bridge.get_result("anything")
    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)
    bridge.close()


def test_bugs_are_not_translated(down: Bridge) -> None:
    """Only driver errors become StoreUnavailable: a programming error surfaces as itself."""
    with pytest.raises(KeyError), translated(down, "do something"):
        raise KeyError("a bug")


def test_store_unavailable_is_exported_in_the_error_tree() -> None:
    """StoreUnavailable is public, a TaskBridgeError and a ConnectionError, not an
    EnqueueError."""
    assert issubclass(taskbridge.StoreUnavailable, TaskBridgeError)
    assert issubclass(taskbridge.StoreUnavailable, ConnectionError)
    assert not issubclass(taskbridge.StoreUnavailable, EnqueueError)
