"""The check that a test run leaves no keys behind on the tests' Redis.

Enabled by ``taskbridge_check_redis_keys = true`` in the pytest ini file; the pytest plugin
registers :class:`LeftoverKeys` in the controlling process only (not in pytest-xdist workers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from taskbridge.testing.pytest_plugin import CHECK_INI

if TYPE_CHECKING:
    from taskbridge.testing.plugins import RedisEntry

_SHOWN = 40


class LeftoverKeys:
    """Lists this run's keys on the tests' Redis when it starts and when it ends, and fails
    the run naming every key (or set member) that is new.

    It picks the run id and the Redis server before any pytest-xdist worker starts, and the
    workers inherit both through the environment.
    """

    def __init__(self) -> None:
        from taskbridge.testing.redis_server import run_prefix, test_redis_url

        self.prefix = run_prefix()
        self.url: str | None = None
        self.problem: str | None = None
        self.before: set[RedisEntry] = set()
        self.left: list[RedisEntry] = []
        try:
            self.url = test_redis_url()
            self.before = self._entries()
        except Exception as exc:  # no Redis at all: nothing can be left on it
            self.problem = f"{type(exc).__name__}: {exc}"

    def _entries(self) -> set[RedisEntry]:
        import redis

        from taskbridge.testing.cleanup import namespace_entries

        assert self.url is not None
        with redis.Redis.from_url(self.url) as client:
            return namespace_entries(client, self.prefix)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.url is None:
            return
        self.left = sorted(self._entries() - self.before, key=lambda e: (e[0], e[1] or ""))
        if self.left and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.problem is not None:
            terminalreporter.write_line(f"{CHECK_INI}: not checked ({self.problem})")
        if not self.left:
            return
        terminalreporter.section("keys left on the tests' Redis", red=True)
        terminalreporter.write_line(
            f"{len(self.left)} key(s) or member(s) of this run's namespaces ({self.prefix}*) "
            f"are still on {self.url}; delete them where the test that wrote them ends "
            "(taskbridge.testing.cleanup.delete_namespace):"
        )
        for key, member in self.left[:_SHOWN]:
            terminalreporter.write_line(f"  {key!r}" + (f" member {member!r}" if member else ""))
        if len(self.left) > _SHOWN:
            terminalreporter.write_line(f"  ... and {len(self.left) - _SHOWN} more")
