"""What the Huey backend tests share: URLs on SQLite and Redis, the tasks module's folder."""

from __future__ import annotations

import sys
from pathlib import Path

from taskbridge.testing.redis_server import test_redis_url

TESTS = Path(__file__).parent
TASKS = "hueytasks"

sys.path.insert(0, str(TESTS))


def sqlite_url(tmp_path: Path, **options: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in options.items())
    return f"huey+sqlite:///{tmp_path / 'tasks.db'}" + (f"?{query}" if query else "")


def redis_url(namespace: str, **options: str) -> str:
    base = test_redis_url().replace("redis://", "huey+redis://", 1)
    query = {"namespace": namespace, **options}
    return base + "?" + "&".join(f"{k}={v}" for k, v in query.items())
