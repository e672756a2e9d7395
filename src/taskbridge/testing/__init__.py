"""Testing support: the pytest plugin, the conformance suite, and test-server helpers."""
