"""taskbridge's RQ backend: ``rq+redis://host:port/db?namespace=...``."""

from taskbridge_rq.backend import RQBackend

__all__ = ["RQBackend"]
