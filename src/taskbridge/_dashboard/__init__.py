"""The operations dashboard: executions, statistics and schedules over HTTP, written once.

:class:`~taskbridge._dashboard.http.Handler` turns requests into responses for one bridge;
``taskbridge dashboard`` serves it with waitress, and the Django and Flask adapters mount it.
"""
