"""The operations dashboard as a blueprint: Flask routes in front of the core's handler.

Authorization is the application's (``TASKBRIDGE_DASHBOARD_AUTHORIZE``, denied by default).
Requests that carry cookies are the ones a browser session may authenticate, so their state
changes need the CSRF token the pages carry, kept in the Flask session; a script without
cookies needs only to send JSON, as with the standalone dashboard.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, Response, current_app, request, session, url_for

from taskbridge import Bridge, get_bridge
from taskbridge.plugin import (
    DashboardHandler,
    DashboardRequest,
    HTTPProblem,
    same_origin_json,
    token_csrf,
)
from taskbridge_flask import _config
from taskbridge_flask._errors import flask_response, problem

BLUEPRINT = "taskbridge"
SESSION_KEY = "taskbridge_csrf"
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE"]


def _session_token(create: bool) -> str | None:
    if not current_app.secret_key:
        if not create:
            raise HTTPProblem(403, "the dashboard keeps its CSRF token in the Flask session; "
                                   "set app.config['SECRET_KEY'] to change anything from it")
        return None
    token = session.get(SESSION_KEY)
    if token is None and create:
        token = session[SESSION_KEY] = secrets.token_urlsafe(32)
    return token if isinstance(token, str) else None


def _csrf(incoming: DashboardRequest) -> HTTPProblem | None:
    if "cookie" not in incoming.headers:
        return same_origin_json(incoming)
    return token_csrf(lambda _: _session_token(create=False))(incoming)


def make_handler(bridge: Bridge) -> DashboardHandler:
    """The core's dashboard for ``bridge``; the view authorizes before calling it."""
    return DashboardHandler(
        bridge, authorize=lambda _: None, csrf=_csrf,
        csrf_token=lambda _: _session_token(create=True),
    )


def _denied() -> Response | None:
    authorize = _config.authorizer(current_app.config)
    if authorize is None:
        return problem(403, f"the dashboard is closed until the application sets "
                            f"{_config.AUTHORIZE} to a callable saying who may use it")
    if not authorize():
        return problem(403, "you may not use the task dashboard")
    return None


def dashboard(path: str = "") -> Response:
    """Every dashboard page and API call, below the blueprint's prefix."""
    from taskbridge_flask._extension import current_app_checked, state

    denied = _denied()
    if denied is not None:
        return denied
    handler = state(current_app_checked()).dashboard_handler(get_bridge())
    incoming = DashboardRequest(
        method=request.method, path="/" + path,
        query=request.args.to_dict(flat=False),
        headers={key.lower(): value for key, value in request.headers.items()},
        body=request.get_data(cache=True),
        root=url_for(f"{BLUEPRINT}.dashboard", path=""),
        origin=request.host_url.rstrip("/"),
    )
    return flask_response(handler(incoming))


def make_blueprint() -> Blueprint:
    blueprint = Blueprint(BLUEPRINT, __name__)
    blueprint.add_url_rule("/", "dashboard", dashboard, methods=METHODS)
    blueprint.add_url_rule("/<path:path>", "dashboard", dashboard, methods=METHODS)
    return blueprint
