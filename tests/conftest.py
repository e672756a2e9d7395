"""Fixtures shared by taskbridge's own tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from taskbridge import _registry


@pytest.fixture(autouse=True)
def _forget_throwaway_tasks() -> Iterator[None]:
    """Unregister the tasks a test defined, so every test starts from the same registry."""
    before = set(_registry.all_tasks())
    yield
    for name in set(_registry.all_tasks()) - before:
        _registry.unregister(name)
