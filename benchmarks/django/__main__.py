"""``python -m benchmarks.django [--rows N] [--repeat N]``: fill a PostgreSQL database of its own
with N executions (default 1,000,000; kept between runs, refilled when the count differs), then
time the admin's executions changelist, as a logged-in superuser would load it, for the pages
an operator opens: the first page, a status filter, a task filter, the date hierarchy drilled to
a day, an id search, a late page, and one execution's detail. Prints a Markdown table and
writes it to benchmarks/results/django_admin.md."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TASKS = ["reports.build", "emails.send", "sync.pull"]
STATUSES = ["SUCCEEDED"] * 90 + ["FAILED"] * 6 + ["CANCELED"] * 2 + ["PENDING"] * 2


def create_database(name: str) -> None:
    import psycopg

    with psycopg.connect(host=os.environ.get("TASKBRIDGE_TEST_PGHOST", "127.0.0.1"),
                         user=os.environ.get("TASKBRIDGE_TEST_PGUSER", "postgres"),
                         dbname="postgres", autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not found:
            conn.execute(f'CREATE DATABASE "{name}"')


def fill(rows: int) -> None:
    """``rows`` executions over 90 days (1 in 100 FAILED ...), written with COPY."""
    import datetime as dt
    import random

    from django.db import connection
    from taskbridge_django.models import Execution

    from taskbridge import Record, Status

    if Execution.objects.count() == rows:
        return
    Execution.objects.all().delete()
    random.seed(7)
    now = time.time()
    span = 90 * 86400
    columns = ("id, task_name, queue, status, attempts, idempotency_key, enqueued_at, enqueued, "
               "started_at, finished_at, heartbeat_at, retried_as, unsent_since, document")
    started = time.perf_counter()
    with connection.cursor() as cursor, cursor.cursor.copy(
        f"COPY taskbridge_execution ({columns}) FROM STDIN"
    ) as copy:
        for n in range(rows):
            task = TASKS[n % 3]
            at = now - span + span * n / rows
            status = Status(random.choice(STATUSES))
            ran = status in (Status.SUCCEEDED, Status.FAILED)
            record = Record(
                id=f"{random.getrandbits(128):032x}", task_name=task,
                queue="sync" if task == "sync.pull" else "default", status=status,
                args=(n,), kwargs={"site": f"VA{n % 1000:06d}"}, attempts=1 if ran else 0,
                enqueued_at=at, started_at=at + 0.01 if ran else None,
                finished_at=at + 0.2 if status.is_final else None,
                value=n if status is Status.SUCCEEDED else None,
            )
            copy.write_row((
                record.id, task, record.queue, status.value, record.attempts, None, at,
                dt.datetime.fromtimestamp(at, dt.UTC), record.started_at, record.finished_at,
                None, None, None, record.dumps(),
            ))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE taskbridge_execution")
    print(f"filled {rows:,} rows in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def measure(repeat: int) -> list[tuple[str, float, float, int]]:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from taskbridge_django.models import Execution

    user = get_user_model().objects.filter(username="bench").first()
    if user is None:
        user = get_user_model().objects.create_superuser("bench", password="bench")
    client = Client()
    client.force_login(user)
    sample = Execution.objects.order_by("-enqueued_at").values_list("id", "enqueued")[5000]
    day = sample[1]
    base = "/admin/taskbridge_django/execution/"
    pages = [
        ("first page", base),
        ("status=FAILED", base + "?status=FAILED"),
        ("task=emails.send", base + "?task=emails.send"),
        ("date hierarchy, one day",
         base + f"?enqueued__year={day.year}&enqueued__month={day.month}&enqueued__day={day.day}"),
        ("search by id prefix", base + f"?q={sample[0][:10]}"),
        ("page 100", base + "?p=100"),
        ("one execution's detail", base + f"{sample[0]}/change/"),
    ]
    found = []
    for name, url in pages:
        client.get(url)  # warm: templates compiled, connection open
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        found.append((name, statistics.median(times), max(times), len(response.content)))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.django")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.django.settings")
    from benchmarks.django import settings

    create_database(settings.DATABASES["default"]["NAME"])
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    fill(args.rows)
    results = measure(args.repeat)
    lines = [
        f"# Django admin: executions changelist on {args.rows:,} executions (PostgreSQL)",
        "",
        f"Median and worst of {args.repeat} loads (Django test client, logged-in superuser, "
        "whole response rendered), this machine.",
        "",
        "| page | median ms | worst ms | bytes |",
        "| --- | ---: | ---: | ---: |",
        *(f"| {name} | {median:.0f} | {worst:.0f} | {size:,} |"
          for name, median, worst, size in results),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    out = ROOT / "benchmarks" / "results" / "django_admin.md"
    out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
