"""The dashboard as a WSGI application (what ``taskbridge dashboard`` serves with waitress)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from taskbridge._dashboard.http import Handler
from taskbridge._dashboard.messages import Request, Response, problem_response
from taskbridge._dashboard.problems import Problem

StartResponse = Callable[..., Any]
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})


def _host_name(host: str) -> str:
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def request_from_environ(environ: dict[str, Any], max_body: int) -> Request:
    """A :class:`Request` from a WSGI environ; the app is mounted at ``SCRIPT_NAME``."""
    headers = {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items() if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(min(length, max_body + 1)) if length > 0 else b""
    # PEP 3333 hands the path over as latin-1 decoded bytes; the URL itself was UTF-8.
    path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace") or "/"
    root = environ.get("SCRIPT_NAME", "").rstrip("/") + "/"
    host = headers.get("host") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
    return Request(
        method=environ.get("REQUEST_METHOD", "GET").upper(), path=path,
        query=parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
        headers=headers, body=body, root=root,
        origin=f"{environ.get('wsgi.url_scheme', 'http')}://{host}",
    )


class WSGIApp:
    """Serves a :class:`Handler`. With ``loopback_only`` (no credentials configured), a
    request naming any host but a loopback one is refused, so a page on another site cannot
    reach this unauthenticated server through DNS rebinding."""

    def __init__(self, handler: Handler, *, loopback_only: bool = False) -> None:
        self.handler = handler
        self.loopback_only = loopback_only

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        from taskbridge._dashboard.http import MAX_BODY

        request = request_from_environ(environ, MAX_BODY)
        if self.loopback_only and _host_name(request.headers.get("host", "")) not in (
            _LOOPBACK_HOSTS
        ):
            response = problem_response(Problem(
                403, "this dashboard runs without credentials and answers only to localhost; "
                     "start it with --auth to serve other host names"))
        else:
            response = self.handler(request)
        return self._send(response, start_response, request.method == "HEAD")

    @staticmethod
    def _send(response: Response, start_response: StartResponse, head: bool) -> list[bytes]:
        from http import HTTPStatus

        status = f"{response.status} {HTTPStatus(response.status).phrase}"
        headers = [*response.headers, ("Content-Length", str(len(response.body)))]
        start_response(status, headers)
        return [] if head else [response.body]
