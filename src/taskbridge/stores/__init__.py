"""State stores: where execution records, idempotency claims and schedules live."""

from taskbridge.stores.base import RecordFilter, StateStore

__all__ = ["RecordFilter", "StateStore"]
