"""The example's tasks, found by autodiscovery in the web process, workers and the scheduler.

- ``sync_manifests``: a periodic sync (every minute), as Haztrak syncs with RCRAInfo.
- ``generate_report``: started by a user, reports its progress.
- ``check_epa_status``: calls a flaky external service and retries with backoff.
"""

from __future__ import annotations

import random
import time

from django.db import transaction

from manifests.models import Manifest
from taskbridge import Every, RetryPolicy, TaskContext, periodic, task


@periodic(Every(minutes=1), name="sync-manifests")
@task
def sync_manifests(timestamp: int) -> int:
    """Pull the manifests changed upstream; each new one gets its EPA status checked."""
    created = 0
    for _ in range(random.randint(1, 3)):
        number = f"{random.randint(0, 999_999_999):09d}ELC"
        with transaction.atomic():
            _, new = Manifest.objects.get_or_create(tracking_number=number)
            if new:
                created += 1
                # Sent when this transaction commits; nothing is sent if it rolls back.
                check_epa_status.enqueue(number)
    return created


@task(context=True)
def generate_report(context: TaskContext, site: str, pages: int = 5) -> dict[str, object]:
    """Build a site's report page by page, reporting progress as it goes."""
    for page in range(1, pages + 1):
        time.sleep(0.5)
        context.set_progress(100 * page / pages, f"page {page} of {pages}")
    return {"site": site, "manifests": Manifest.objects.count(), "pages": pages}


@task(retry=RetryPolicy(max_attempts=5, backoff=1.0, factor=2.0, max_backoff=10.0,
                        retry_on=(ConnectionError,)))
def check_epa_status(tracking_number: str) -> str:
    """Ask the (simulated) national system for a manifest's status: it fails half the time."""
    if random.random() < 0.5:
        raise ConnectionError("the national system timed out")
    status = random.choice(["Received", "Signed", "Corrected"])
    Manifest.objects.filter(tracking_number=tracking_number).update(epa_status=status)
    return status
