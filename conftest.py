"""Repository-wide test setup: run the conformance suite against every backend we ship."""

from __future__ import annotations

import os
import tempfile

import pytest

from taskbridge._plugins import installed_engines
from taskbridge.testing.redis_server import test_redis_url

AMQP = "amqp://guest:guest@127.0.0.1:5672//"


def _our_backend_urls() -> list[str]:
    engines = installed_engines()
    urls = ["memory://"]
    if "huey" in engines:
        folder = tempfile.mkdtemp(prefix="taskbridge-conformance-")
        redis = test_redis_url()
        # Thread workers (the default) and process workers (which enforce timeouts).
        urls += [
            f"huey+sqlite:///{folder}/tasks.db",
            f"huey+sqlite:///{folder}/process.db?pool=process",
            f"huey+{redis}",
        ]
    if "rq" in engines:
        urls.append(f"rq+{test_redis_url()}")
    if "celery" in engines:
        urls += [f"celery+{test_redis_url()}", f"celery+{AMQP}?store={test_redis_url()}"]
    return urls


def pytest_configure(config: pytest.Config) -> None:
    """Without --taskbridge-url or TASKBRIDGE_CONFORMANCE_URLS, test every installed backend."""
    given = config.getoption("taskbridge_url", default=None)
    if not given and "TASKBRIDGE_CONFORMANCE_URLS" not in os.environ:
        os.environ["TASKBRIDGE_CONFORMANCE_URLS"] = ",".join(_our_backend_urls())
