"""What installed distributions add to tests: conformance URLs, stores for the store contract
suite, and the Redis keys their engines write for a test namespace.

A distribution registers a module in the ``taskbridge.testing`` entry-point group (as its backend
is registered in the ``taskbridge`` group) that implements these hooks with
``taskbridge.hookimpl``. Installing the distribution is then enough for the repository's
conformance run to test it and for :func:`taskbridge.testing.cleanup.delete_namespace` to tidy
up after it: no central file names a backend.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pluggy

from taskbridge._hooks import PROJECT, hookimpl

if TYPE_CHECKING:
    import redis

#: The entry-point group of the testing hooks.
GROUP = "taskbridge.testing"
#: ``(key, None)``: a whole key; ``(key, member)``: one member of a set, sorted set or hash that
#: several namespaces share.
RedisEntry = tuple[str, str | None]
#: A store the contract suite runs against by default: a label for test ids, and its URL or a
#: callable giving it (called when a test first needs it; ``RuntimeError`` skips, saying why).
StoreTargetSpec = tuple[str, str | Callable[[], str]]

hookspec = pluggy.HookspecMarker(PROJECT)


class TestingHookspecs:
    """The hooks a distribution's testing module may implement."""

    @hookspec
    def taskbridge_conformance_urls(  # type: ignore[empty-body]
        self, redis_url: str, workdir: Path
    ) -> list[str]:
        """Backend URLs the conformance suite should test this distribution with, given the
        tests' Redis (``redis://host:port/db``) and a scratch folder for files."""

    @hookspec
    def taskbridge_store_targets(self) -> list[StoreTargetSpec]:  # type: ignore[empty-body]
        """Stores the store contract suite should run against when no ``--taskbridge-store``
        is given (a distribution's store on a test server), beside the core's."""

    @hookspec
    def taskbridge_test_redis_entries(  # type: ignore[empty-body]
        self, client: redis.Redis, namespace: str
    ) -> list[RedisEntry]:
        """What this distribution's engine wrote to Redis for every namespace that starts with
        ``namespace``, beyond the keys whose names contain it (those are found without asking):
        keys named by job ids, members of sets every namespace shares, and so on."""

    @hookspec
    def taskbridge_delete_test_namespace(self, url: str, namespace: str, queues: list[str]) -> None:
        """Delete what this distribution's engine created for test namespace ``namespace`` on
        ``url``'s servers outside Redis (RabbitMQ's durable queues and exchanges, say), for
        ``queues``; ignore URLs of other engines."""


class _CoreTesting:
    """The core's own contribution: ``memory://``."""

    @hookimpl
    def taskbridge_conformance_urls(self, redis_url: str, workdir: Path) -> list[str]:
        return ["memory://"]


@functools.cache
def testing_plugins() -> pluggy.PluginManager:
    """The testing hooks' plugin manager, with every installed distribution's module loaded."""
    manager = pluggy.PluginManager(PROJECT)
    manager.add_hookspecs(TestingHookspecs)
    manager.register(_CoreTesting(), name="taskbridge.testing.core")
    manager.load_setuptools_entrypoints(GROUP)
    return manager


def delete_test_namespace(url: str, namespace: str, queues: list[str]) -> None:
    """Let every installed distribution delete what ``namespace`` left outside Redis."""
    testing_plugins().hook.taskbridge_delete_test_namespace(
        url=url, namespace=namespace, queues=queues
    )


def conformance_urls(redis_url: str, workdir: Path) -> list[str]:
    """Every installed distribution's conformance URLs, the core's (``memory://``) first."""
    answers = testing_plugins().hook.taskbridge_conformance_urls(
        redis_url=redis_url, workdir=workdir
    )
    # pluggy answers newest registration first; the core registered first.
    return [url for answer in reversed(answers) for url in answer or ()]



def store_target_specs() -> list[StoreTargetSpec]:
    """Every installed distribution's default store contract targets."""
    answers = testing_plugins().hook.taskbridge_store_targets()
    return [spec for answer in reversed(answers) for spec in answer or ()]
