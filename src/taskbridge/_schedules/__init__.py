"""Periodic tasks: schedule values, ``@periodic``, the stored schedules, the scheduler loop."""
