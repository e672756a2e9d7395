"""``taskbridge dashboard``: binding rules and argument parsing (the served process is tested
with a real browser in test_browser.py)."""

from __future__ import annotations

import pytest

from taskbridge._dashboard.command import is_loopback, parse_bind
from taskbridge.cli import main


def test_bind_parsing() -> None:
    """HOST:PORT parses, IPv6 in brackets too; anything else is refused."""
    assert parse_bind("127.0.0.1:8787") == ("127.0.0.1", 8787)
    assert parse_bind("[::1]:0") == ("::1", 0)
    assert parse_bind(":9000") == ("127.0.0.1", 9000)
    for text in ("8787", "host:", "host:port", "host:70000"):
        with pytest.raises(ValueError):
            parse_bind(text)


def test_loopback_addresses() -> None:
    """Only loopback names and addresses count as loopback."""
    assert all(map(is_loopback, ["127.0.0.1", "127.1.2.3", "::1", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "10.0.0.1", "::", "example.org"]))


def test_non_loopback_bind_without_credentials_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Serving 0.0.0.0 without --auth exits 2 and says how to fix it."""
    monkeypatch.delenv("TASKBRIDGE_DASHBOARD_AUTH", raising=False)
    assert main(["dashboard", "--url", "memory://", "--bind", "0.0.0.0:8787"]) == 2
    assert "refusing to serve 0.0.0.0 without credentials" in capsys.readouterr().err


def test_bad_credentials_are_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Credentials that are not user:password exit 2, from --auth or the variable."""
    assert main(["dashboard", "--url", "memory://", "--auth", "nopassword"]) == 2
    monkeypatch.setenv("TASKBRIDGE_DASHBOARD_AUTH", "user:")
    assert main(["dashboard", "--url", "memory://"]) == 2
    assert "user:password" in capsys.readouterr().err
