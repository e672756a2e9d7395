"""The dashboard (CONTRACT §15) in a Django URLconf: Django authenticates (staff by default,
``DASHBOARD_PERMISSION`` to name a permission instead) and protects against CSRF; the core's
handler does everything else."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.urls import NoReverseMatch, reverse
from django.views.decorators.csrf import csrf_protect

from taskbridge import get_bridge
from taskbridge.plugin import DashboardHandler, DashboardRequest, HTTPProblem


def allowed(request: HttpRequest) -> bool:
    """Staff, or holders of ``TASKBRIDGE["DASHBOARD_PERMISSION"]`` when it names one."""
    from taskbridge_django.conf import read

    user: Any = request.user
    if not user.is_authenticated or not user.is_active:
        return False
    permission = read().dashboard_permission
    return bool(user.has_perm(permission) if permission else user.is_staff)


def _refused(request: HttpRequest, path: str) -> HttpResponse:
    """Pages send the browser to log in; the API answers 403 (or 401) as JSON."""
    if not request.user.is_authenticated and request.method == "GET" and not path.startswith(
        ("api/", "metrics")
    ):
        try:
            login = reverse("admin:login")
        except NoReverseMatch:
            login = None
        return redirect_to_login(request.get_full_path(), login)
    status = 403 if request.user.is_authenticated else 401
    problem = HTTPProblem(status, "the dashboard is for staff; log in with an account "
                                       "allowed to see it")
    import json

    return HttpResponse(json.dumps(problem.to_dict()), status=status,
                        content_type="application/problem+json")


def _request(request: HttpRequest, path: str) -> DashboardRequest:
    root = request.path[: len(request.path) - len(path)] if path else request.path
    return DashboardRequest(
        method=request.method or "GET", path="/" + path, query=dict(request.GET.lists()),
        headers={name.lower(): value for name, value in request.headers.items()},
        body=request.body, root=root if root.endswith("/") else root + "/",
        origin=f"{request.scheme}://{request.get_host()}",
    )


@csrf_protect
def dashboard(request: HttpRequest, path: str) -> HttpResponse:
    """Every page and API call below the mount point."""
    if not allowed(request):
        return _refused(request, path)
    handler = DashboardHandler(
        get_bridge(), authorize=lambda _: None, csrf_token=lambda _: get_token(request),
    )
    answer = handler(_request(request, path))
    response = HttpResponse(answer.body, status=answer.status)
    for name, value in answer.headers:
        response[name] = value
    return response
