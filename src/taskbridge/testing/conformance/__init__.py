"""The conformance suite: CONTRACT.md as tests, run against any backend URL with real workers.

Run it with ``pytest --pyargs taskbridge.testing.conformance --taskbridge-url=ENGINE+...``.
"""
