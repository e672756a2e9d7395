"""The dashboard mounted at /tasks/: staff only by default (pages send the browser to log in,
the API answers 401/403 as JSON), a named permission instead when configured, Django's CSRF on
state changes, and the core's answers otherwise."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client, override_settings
from taskbridge_django.conf import make_bridge
from testapp.tasks import fail

from taskbridge import Bridge, Status
from taskbridge._bridge import set_bridge

pytestmark = pytest.mark.django_db(transaction=True)


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
def staff(django_user_model: Any) -> Client:
    user = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_anonymous_pages_redirect_to_login_and_the_api_answers_401(bridge: Bridge) -> None:
    """No session: a page redirects to the admin's login; the API is a JSON 401."""
    client = Client()
    page = client.get("/tasks/")
    assert page.status_code == 302 and "/admin/login/" in page["Location"]
    api = client.get("/tasks/api/executions")
    assert api.status_code == 401 and api["Content-Type"] == "application/problem+json"


def test_a_user_who_is_not_staff_is_refused(bridge: Bridge, django_user_model: Any) -> None:
    """Logged in but not staff: 403."""
    client = Client()
    client.force_login(django_user_model.objects.create_user("someone", password="pw"))
    assert client.get("/tasks/api/executions").status_code == 403


def test_staff_see_pages_and_executions(bridge: Bridge, staff: Client) -> None:
    """Staff get the page shell (with a CSRF token) and the executions from the store."""
    result = fail.using(bridge=bridge).enqueue("shown")
    bridge.drive()
    page = staff.get("/tasks/")
    assert page.status_code == 200 and b"csrf" in page.content.lower()
    listing = staff.get("/tasks/api/executions?status=FAILED").json()
    assert [item["id"] for item in listing["items"]] == [result.id]
    detail = staff.get(f"/tasks/api/executions/{result.id}").json()
    assert "ValueError: shown" in detail["error"]["traceback"]


def test_state_changes_need_django_csrf_token(bridge: Bridge, staff: Client) -> None:
    """A POST without the token is refused by Django's CSRF check; with it, retry works."""
    result = fail.using(bridge=bridge).enqueue("again")
    bridge.drive()
    url = f"/tasks/api/executions/{result.id}/retry"
    refused = staff.post(url, data="{}", content_type="application/json")
    assert refused.status_code == 403
    staff.get("/tasks/")
    token = staff.cookies["csrftoken"].value
    accepted = staff.post(url, data="{}", content_type="application/json",
                          headers={"X-CSRFToken": token})
    assert accepted.status_code == 202, accepted.content
    retried = bridge.get_result(json.loads(accepted.content)["id"])
    bridge.drive()
    assert retried.refresh().status is Status.FAILED
    assert result.refresh().retried_as == retried.id


def test_a_named_permission_replaces_the_staff_check(
    bridge: Bridge, django_user_model: Any
) -> None:
    """DASHBOARD_PERMISSION: holders get in without being staff; staff without it do not."""
    holder = django_user_model.objects.create_user("holder", password="pw")
    holder.user_permissions.add(Permission.objects.get(codename="view_execution"))
    staff = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    setting = {"URL": "memory://", "DASHBOARD_PERMISSION": "taskbridge_django.view_execution"}
    with override_settings(TASKBRIDGE=setting):
        client = Client()
        client.force_login(holder)
        assert client.get("/tasks/api/health").status_code == 200
        client.force_login(staff)
        assert client.get("/tasks/api/health").status_code == 403


def test_the_admin_links_to_the_dashboard(bridge: Bridge, django_user_model: Any) -> None:
    """The executions changelist has a link to the mounted dashboard."""
    client = Client()
    client.force_login(django_user_model.objects.create_superuser("root", password="pw"))
    page = client.get("/admin/taskbridge_django/execution/")
    assert page.status_code == 200 and b'href="/tasks/"' in page.content
