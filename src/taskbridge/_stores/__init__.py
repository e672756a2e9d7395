"""State stores: where execution records, idempotency claims, schedules and workers live."""
