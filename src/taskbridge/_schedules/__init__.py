"""Periodic tasks: schedule values (``values``), schedule entries (``entry``), the ``@periodic``
registry (``registry``), the stored schedules (``manager``) and the scheduler loop
(``scheduler``)."""
