"""URLs, plugin discovery and capabilities of the Celery backend (no worker needed)."""

from __future__ import annotations

import pytest
from taskbridge_celery.backend import CeleryBackend, RedisCeleryBackend
from taskbridge_celery.config import CeleryConfig

from taskbridge import Bridge, ConfigurationError
from taskbridge.plugin import BackendURL, engine_factory


def test_engine_is_found_through_the_entry_point() -> None:
    """Installing taskbridge-celery is enough for the 'celery' engine to resolve."""
    assert engine_factory("celery") is CeleryBackend


def test_redis_url_shares_one_server_for_broker_and_store() -> None:
    """celery+redis:// uses one Redis for the messages and the store, under the namespace."""
    config = CeleryConfig.from_url(BackendURL.parse("celery+redis://h:6379/2?namespace=ci-1"))
    assert config.broker_url == config.store_url == "redis://h:6379/2"
    assert config.on_redis and config.queue_name("emails") == "ci-1.emails"
    assert config.transport_options()["queue_order_strategy"] == "priority"


def test_amqp_url_needs_a_store() -> None:
    """celery+amqp:// without ?store= is a ConfigurationError saying what to add."""
    with pytest.raises(ConfigurationError, match=r"add \?store=redis://"):
        CeleryConfig.from_url(BackendURL.parse("celery+amqp://guest:secret@h:5672//"))


def test_amqp_url_keeps_its_vhost_and_store() -> None:
    """The broker part keeps its vhost; the store comes from ?store=; the default namespace."""
    url = BackendURL.parse("celery+amqp://u:p@h:5672//?store=redis://r:6379/1")
    config = CeleryConfig.from_url(url)
    assert (config.broker_url, config.store_url) == ("amqp://u:p@h:5672//", "redis://r:6379/1")
    assert not config.on_redis and config.queue_name("default") == "taskbridge.default"


@pytest.mark.parametrize(("url", "complaint"), [
    ("celery+sqs://h/", "supports the redis and amqp transports"),
    ("celery+redis://h:6379/0?visibility=3", "unknown option"),
    ("celery+redis://h:6379/0?namespace=a%20b", "namespace"),
    ("celery+redis://h:6379/0?visibility_timeout=soon", "positive number"),
    ("celery+amqp://h//?store=mysql://db", "'mysql' is not a store"),
])
def test_bad_urls_say_what_is_wrong(url: str, complaint: str) -> None:
    """Every malformed Celery URL is a ConfigurationError naming the problem."""
    with pytest.raises(ConfigurationError, match=complaint):
        Bridge(url)


def test_password_never_appears_in_errors() -> None:
    """Errors about a URL show it with the password masked."""
    with pytest.raises(ConfigurationError) as error:
        CeleryConfig.from_url(BackendURL.parse("celery+amqp://guest:hunter2@h:5672//"))
    assert "hunter2" not in str(error.value)


def test_backend_class_follows_the_broker(redis_url: str, namespace: str) -> None:
    """A Redis broker gets the one-round-trip backend; capabilities are the prefork pool's."""
    bridge = Bridge(f"celery+{redis_url}?namespace={namespace}")
    try:
        assert isinstance(bridge.backend, RedisCeleryBackend)
        assert bridge.capabilities == CeleryBackend.pools["prefork"]
        assert not CeleryBackend.pools["threads"].timeouts
        assert "prefork" in CeleryBackend.pools["threads"].reason("timeouts")
    finally:
        bridge.close()
