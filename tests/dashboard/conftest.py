"""Dashboard fixtures: a bridge on each store kind (memory, SQLite, Redis) and an API client."""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from taskbridge import Bridge, ErrorInfo, Record, Status
from taskbridge._dashboard.http import Handler
from taskbridge._dashboard.messages import Request, Response
from taskbridge._dashboard.security import allow_everyone
from taskbridge.plugin import installed_engines
from taskbridge.testing.cleanup import delete_url_namespace
from taskbridge.testing.conformance.harness import isolate
from taskbridge.testing.redis_server import test_redis_url

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
TASKS = "dashboard_tasks"


def bridge_url(kind: str, folder: Path) -> str:
    if kind == "memory":
        return "memory://"
    engine = {"sqlite": "huey", "redis": "rq"}[kind]
    if engine not in installed_engines():
        pytest.skip(f"taskbridge-{engine} is not installed")
    if kind == "sqlite":
        return f"huey+sqlite:///{folder / 'tasks.db'}"
    return isolate(f"rq+{test_redis_url()}", folder)


@pytest.fixture(params=["memory", "sqlite", "redis"])
def bridge(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Bridge]:
    """A fresh bridge on the parametrized store kind, with the dashboard's test tasks."""
    url = bridge_url(request.param, tmp_path)
    made = Bridge(url, imports=[TASKS])
    yield made
    made.close()
    delete_url_namespace(url)


class Api:
    """Calls a :class:`Handler` as a browser on its own origin would."""

    origin = "http://dash.test"

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    def call(self, method: str, path: str, body: Any = None, *,
             headers: dict[str, str] | None = None, **query: Any) -> Response:
        sent = {"host": "dash.test"}
        data = b""
        if body is not None or method == "POST":
            sent["content-type"] = "application/json"
            data = json.dumps({} if body is None else body).encode()
        sent.update(headers or {})
        request = Request(method, path, {k: [str(v)] for k, v in query.items()}, sent, data,
                          "/", self.origin)
        return self.handler(request)

    def json(self, method: str, path: str, body: Any = None, *, expect: int = 200,
             **query: Any) -> Any:
        response = self.call(method, path, body, **query)
        assert response.status == expect, (response.status, response.body[:2000])
        return json.loads(response.body) if response.body else None

    def get(self, path: str, *, expect: int = 200, **query: Any) -> Any:
        return self.json("GET", path, expect=expect, **query)

    def post(self, path: str, body: Any = None, *, expect: int = 202) -> Any:
        return self.json("POST", path, body, expect=expect)


@pytest.fixture
def api(bridge: Bridge) -> Api:
    """An API client on ``bridge`` that needs no credentials."""
    return Api(Handler(bridge, authorize=allow_everyone))


def put_record(
    bridge: Bridge, *, task: str = "dash.add", status: Status = Status.PENDING,
    at: float | None = None, queue: str = "default", args: tuple[Any, ...] = (1, 2),
    duration: float = 0.5, worker: str = "host:1:2", id: str | None = None,
) -> Record:
    """Write an execution in the given status straight into the store, as a worker would."""
    at = time.time() if at is None else at
    record = Record(id=id or uuid.uuid4().hex, task_name=task, queue=queue,
                    status=Status.PENDING, args=args, enqueued_at=at, max_attempts=1)
    store = bridge.store
    store.create([record], now=at, idempotency_ttl=60.0)
    if status in (Status.PENDING, Status.CANCELED):
        if status is Status.CANCELED:
            store.cancel(record.id, now=at + duration)
        return store.get(record.id)
    store.start(record.id, 1, worker=worker, now=at + 0.01)
    if status is not Status.RUNNING:
        error = ErrorInfo("ValueError", "bad <b>input</b>", "Traceback ...\nValueError: bad")
        store.finish(
            record.id, 1, status, now=at + 0.01 + duration, idempotency_ttl=60.0,
            value=args[0] if status is Status.SUCCEEDED else None,
            error=error if status is not Status.SUCCEEDED else None,
            envelope=None,
        )
    return store.get(record.id)
