"""Who may use the dashboard, and which state-changing requests a browser may have forged.

An *authorizer* takes the request and returns ``None`` to let it through, or the response
that refuses it (a 401 Basic challenge, a 403, a redirect to a login page). A *CSRF check*
takes a state-changing request and returns ``None`` or the :class:`Problem` refusing it.
The standalone command uses :func:`basic_auth` (or :func:`allow_everyone` on a loopback bind
without credentials) with :func:`same_origin_json`; an adapter authenticating by session
cookie adds :func:`token_csrf`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable
from urllib.parse import urlsplit

from taskbridge._dashboard.messages import Request, Response, problem_response
from taskbridge._dashboard.problems import Problem

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def allow_everyone(request: Request) -> Response | None:
    """Let every request through (a loopback bind without credentials, tests)."""
    return None


def basic_auth(username: str, password: str, *, realm: str = "taskbridge") -> Callable[
    [Request], Response | None
]:
    """HTTP Basic with one user, compared in constant time; a 401 challenge otherwise."""
    expected_user, expected_password = username.encode(), password.encode()

    def authorize(request: Request) -> Response | None:
        given = _basic_credentials(request.headers.get("authorization", ""))
        if given is not None:
            user_ok = hmac.compare_digest(given[0], expected_user)
            password_ok = hmac.compare_digest(given[1], expected_password)
            if user_ok & password_ok:
                return None
        return problem_response(Problem(
            401, "credentials required: send HTTP Basic credentials",
            headers={"WWW-Authenticate": f'Basic realm="{realm}", charset="UTF-8"'},
        ))

    return authorize


def _basic_credentials(header: str) -> tuple[bytes, bytes] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, colon, password = decoded.partition(b":")
    return (user, password) if colon else None


def parse_credentials(text: str) -> tuple[str, str]:
    """``user:password`` (from ``--auth`` or ``TASKBRIDGE_DASHBOARD_AUTH``)."""
    user, colon, password = text.partition(":")
    if not colon or not user or not password:
        raise ValueError("credentials must look like user:password, both parts non-empty")
    return user, password


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_origin_json(request: Request) -> Problem | None:
    """State changes must be JSON and must not come from another site.

    A cross-site page can POST a form (urlencoded, multipart or text/plain) without the
    browser asking first, and the browser attaches cached Basic credentials to it; it cannot
    send ``Content-Type: application/json`` (or PUT/DELETE) without a CORS preflight, which
    this server never grants. ``Origin``/``Referer``, when present, must also be this origin.
    Scripts that send neither header pass.
    """
    if request.method in SAFE_METHODS:
        return None
    if request.method == "POST" or request.body:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            return Problem(415, "state-changing requests must send Content-Type: "
                                "application/json")
    if request.headers.get("sec-fetch-site", "") == "cross-site":
        return Problem(403, "cross-site request refused")
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if claimed and claimed != "null" and _origin(claimed) != request.origin.lower():
        return Problem(403, f"request from origin {_origin(claimed) or claimed!r} refused; "
                            "only this dashboard's own pages may change state")
    if claimed == "null":
        return Problem(403, "request from an opaque origin refused")
    return None


def token_csrf(
    expected: Callable[[Request], str | None], *, header: str = "x-csrftoken",
) -> Callable[[Request], Problem | None]:
    """For session cookies: state changes carry the session's token in ``header`` (the pages
    send the token the handler put in them), on top of :func:`same_origin_json`."""

    def check(request: Request) -> Problem | None:
        refused = same_origin_json(request)
        if refused is not None or request.method in SAFE_METHODS:
            return refused
        token, given = expected(request), request.headers.get(header, "")
        if not token or not hmac.compare_digest(token.encode(), given.encode()):
            return Problem(403, "CSRF token missing or wrong; reload the page")
        return None

    return check
