"""What installed distributions add to tests through the taskbridge.testing hooks."""

from __future__ import annotations

from pathlib import Path

from taskbridge._config import BackendURL
from taskbridge._plugins import installed_engines
from taskbridge.testing.plugins import conformance_urls, store_target_specs
from taskbridge.testing.store_contract.targets import default_targets


def test_conformance_urls_start_with_memory_and_name_installed_engines(tmp_path: Path) -> None:
    """memory:// comes first; every URL a distribution contributes names an installed engine."""
    urls = conformance_urls("redis://127.0.0.1:6379/0", tmp_path)
    assert urls[0] == "memory://"
    assert len(urls) == len(set(urls))
    engines = installed_engines()
    assert all(BackendURL.parse(url).engine in engines for url in urls)


def test_every_installed_engine_contributes_a_conformance_url(tmp_path: Path) -> None:
    """Installing a distribution is enough for the conformance run to test its engines."""
    urls = conformance_urls("redis://127.0.0.1:6379/0", tmp_path)
    tested = {BackendURL.parse(url).engine for url in urls}
    assert set(installed_engines()) <= tested


def test_store_targets_of_distributions_follow_the_cores_in_the_contract_defaults() -> None:
    """The store contract suite runs on the core's stores, then on every store an installed
    distribution adds through taskbridge_store_targets."""
    labels = [target.label for target in default_targets()]
    added = [label for label, _ in store_target_specs()]
    assert labels == ["memory", "redis", "redis-6.2", "sqlite", *added]
    assert len(set(labels)) == len(labels)
