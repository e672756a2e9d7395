"""taskbridge on Huey: ``huey+sqlite:///tasks.db`` (embedded, the default) and ``huey+redis://``."""

from taskbridge_huey.backend import CAPABILITIES_BY_MODE, HueyBackend

__all__ = ["CAPABILITIES_BY_MODE", "HueyBackend"]
