"""The admin without a browser: the read-only detail page (attempt history and progress log
from the stored document), retry and cancel only for users with the change permission, the
capped count, search, and schedules removed through the core."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client, override_settings
from taskbridge_django.admin import executions
from taskbridge_django.conf import make_bridge
from taskbridge_django.models import Execution
from testapp.tasks import add, fail

from taskbridge import Bridge, Every, Status
from taskbridge._bridge import set_bridge

pytestmark = pytest.mark.django_db(transaction=True)
CHANGELIST = "/admin/taskbridge_django/execution/"


@pytest.fixture
def bridge() -> Iterator[Bridge]:
    """The project's bridge on memory:// (tasks run inline), records in the Django store."""
    with override_settings(TASKBRIDGE={"URL": "memory://", "STORE": "django"}):
        made = make_bridge()
        previous = set_bridge(made)
        yield made
        set_bridge(previous)
        made.close()


@pytest.fixture
def superuser(django_user_model: Any) -> Client:
    client = Client()
    client.force_login(django_user_model.objects.create_superuser("root", password="pw"))
    return client


def test_the_detail_page_shows_history_and_progress_messages(
    bridge: Bridge, superuser: Client
) -> None:
    """Attempt history and the progress log in the stored document show on the page."""
    result = fail.using(bridge=bridge).enqueue("history")
    bridge.drive()
    row = Execution.objects.get(id=result.id)
    document = json.loads(row.document)
    document["attempt_history"] = [{
        "attempt": 1, "worker": "host:1:2", "started_at": 1.0, "finished_at": 2.5,
        "outcome": "FAILED", "error": {"type": "ValueError", "message": "history"},
        "cpu_time": 0.25, "peak_memory": 3 * 2**20,
    }]
    document["progress_log"] = [{"at": 1.5, "percent": 40.0, "message": "loaded sheet"}]
    row.document = json.dumps(document)
    row.save()
    page = superuser.get(f"{CHANGELIST}{result.id}/change/").content.decode()
    for text in ("ValueError: history", "host:1:2", "3.0 MiB", "0.250 s", "40% loaded sheet",
                 "Traceback (most recent call last)"):
        assert text in page


def test_retry_and_cancel_need_the_change_permission(
    bridge: Bridge, django_user_model: Any
) -> None:
    """A staff user who may only view sees no actions; with the change permission, retry
    works."""
    result = fail.using(bridge=bridge).enqueue("retry me")
    bridge.drive()
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_execution"))
    client = Client()
    client.force_login(viewer)
    assert b"retry_selected" not in client.get(CHANGELIST).content
    viewer.user_permissions.add(Permission.objects.get(codename="change_execution"))
    page = client.get(CHANGELIST)
    assert b"retry_selected" in page.content
    done = client.post(CHANGELIST, {"action": "retry_selected", "_selected_action": [result.id]},
                       follow=True)
    assert f"Retried 1: {result.id}".encode() in done.content
    assert result.refresh().retried_as is not None


def test_refusals_are_reported_per_execution(bridge: Bridge, superuser: Client) -> None:
    """Canceling a finished execution is refused with the core's reason; nothing breaks."""
    result = add.using(bridge=bridge).enqueue(1, 2)
    bridge.drive()
    done = superuser.post(CHANGELIST, {"action": "cancel_selected",
                                       "_selected_action": [result.id]}, follow=True)
    assert b"already SUCCEEDED" in done.content
    assert result.refresh().status is Status.SUCCEEDED


def test_the_changelist_never_counts_past_the_cap(
    bridge: Bridge, superuser: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above the cap the page says 'more than N' instead of counting every row."""
    monkeypatch.setattr(executions, "COUNT_CAP", 3)
    monkeypatch.setattr(executions.ExecutionAdmin, "count_cap", 3)
    add.using(bridge=bridge).enqueue_many([(n, n) for n in range(5)])
    assert b"more than 3 executions" in superuser.get(CHANGELIST).content


def test_search_finds_an_id_prefix_a_task_name_and_a_key(bridge: Bridge, superuser: Client) -> None:
    """Search: an id's beginning, a registered task's name, an idempotency key."""
    keyed = add.using(bridge=bridge, idempotency_key="invoice:42").enqueue(1, 1)
    other = fail.using(bridge=bridge).enqueue("x")
    for term, expected in ((keyed.id[:8], keyed.id), ("testapp.tasks.fail", other.id),
                           ("invoice:42", keyed.id)):
        page = superuser.get(CHANGELIST, {"q": term}).content.decode()
        assert expected[:12] in page, term


def test_deleting_a_schedule_in_the_admin_removes_it_through_the_core(
    bridge: Bridge, superuser: Client
) -> None:
    """The delete action removes the schedule and its scheduler state."""
    bridge.schedules.add("nightly", "testapp.tasks.tick", Every(hours=24))
    superuser.post("/admin/taskbridge_django/schedule/",
                   {"action": "delete_selected", "_selected_action": ["nightly"], "post": "yes"})
    assert bridge.schedules.get("nightly") is None
