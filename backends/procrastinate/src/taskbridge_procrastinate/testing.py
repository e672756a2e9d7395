"""Test support for the Procrastinate backend, registered in the ``taskbridge.testing``
entry-point group: its conformance URL, in this test run's own PostgreSQL database (created by
``taskbridge_postgresql.testing`` and dropped when the run ends), and a test namespace's
clean-up (its records' schema and its queues' jobs)."""

from __future__ import annotations

from pathlib import Path

from taskbridge import hookimpl
from taskbridge.plugin import BackendURL


@hookimpl
def taskbridge_conformance_urls(redis_url: str, workdir: Path) -> list[str]:
    """``procrastinate+postgresql://`` on this run's test database. With no server to create
    a database on, the URL names the server's own, and the suite skips it, saying why, when
    nothing answers there."""
    from taskbridge_postgresql.testing import server_url, test_database_url

    try:
        database = test_database_url()
    except RuntimeError:
        database = server_url()
    return [f"procrastinate+{database}"]


@hookimpl
def taskbridge_delete_test_namespace(url: str, namespace: str, queues: list[str]) -> None:
    """Drop the schema of a test namespace's records and delete its queues' jobs."""
    parsed = BackendURL.parse(url)
    if parsed.engine != "procrastinate" or "store" in parsed.options:
        return
    import psycopg
    from taskbridge_postgresql.schema import Tables

    from taskbridge_procrastinate._jobs import queue_name

    Tables(namespace).drop(parsed.transport_url)
    names = [queue_name(namespace, queue) for queue in queues]
    with psycopg.connect(parsed.transport_url, autocommit=True, connect_timeout=5) as conn:
        if conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone() != (None,):
            conn.execute(
                "DELETE FROM procrastinate_jobs WHERE queue_name = ANY(%s)"
                " OR queue_name LIKE %s",
                (names, namespace.replace("_", r"\_") + ".%"),
            )
