"""What the RQ backend's tests share: the tasks module workers import and the URL of a namespace."""

from __future__ import annotations

import pathlib
from urllib.parse import urlsplit

HERE = pathlib.Path(__file__).parent
TASKS = "rq_test_tasks"


def rq_url(redis_url: str, namespace: str) -> str:
    parts = urlsplit(redis_url)
    return f"rq+redis://{parts.netloc}{parts.path or '/0'}?namespace={namespace}"
