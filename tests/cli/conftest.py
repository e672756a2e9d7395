"""Fixtures for the command line's tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _wide_output(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables as a pipe gets them (200 columns): pytest-xdist's workers export COLUMNS=80,
    which would fold the cells the tests read."""
    monkeypatch.delenv("COLUMNS", raising=False)
