"""Repository-wide test setup: run the conformance suite against every installed distribution's
URLs (each distribution contributes its own through the ``taskbridge_conformance_urls`` hook)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from taskbridge.testing.conformance.harness import ENV_URLS
from taskbridge.testing.plugins import conformance_urls
from taskbridge.testing.redis_server import test_redis_url


def pytest_configure(config: pytest.Config) -> None:
    """Without --taskbridge-url or TASKBRIDGE_CONFORMANCE_URLS, test every installed backend.

    The URLs go into the environment, so pytest-xdist workers (started later) test the same.
    """
    given = config.getoption("taskbridge_url", default=None)
    if not given and ENV_URLS not in os.environ:
        workdir = Path(tempfile.mkdtemp(prefix="taskbridge-conformance-"))
        os.environ[ENV_URLS] = ",".join(conformance_urls(test_redis_url(), workdir))
