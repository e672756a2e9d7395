"""The engines the fault tests run, each on a private Redis they restart."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from taskbridge_celery.testing import AMQP, amqp_available


def backend_url(engine: str, redis_url: str, namespace: str) -> str:
    """``engine``'s URL on the private Redis (celery+amqp: RabbitMQ, with that Redis as store)."""
    where = urlsplit(redis_url).netloc
    if engine == "celery+amqp":
        return (f"celery+amqp://guest:guest@{AMQP[0]}:{AMQP[1]}//?store={redis_url}"
                f"&namespace={namespace}")
    return f"{engine}://{where}/0?namespace={namespace}"


ENGINES = [
    "huey+redis",
    "rq+redis",
    "celery+redis",
    pytest.param("celery+amqp", marks=pytest.mark.skipif(
        not amqp_available(),
        reason=f"RabbitMQ does not answer on {AMQP[0]}:{AMQP[1]}; the case needs it as broker",
    )),
]
