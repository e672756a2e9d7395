"""The pages: one HTML shell and the static files it loads, all shipped in the package.

The shell is the same for every page (the script reads the path); the handler writes the
mount prefix and, for cookie sessions, the CSRF token into it, escaped. Nothing is loaded
from anywhere else: the Content-Security-Policy allows this origin only.
"""

from __future__ import annotations

import functools
import hashlib
import html
from importlib import resources

from taskbridge._dashboard.messages import Response
from taskbridge._dashboard.problems import Problem

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".html": "text/html; charset=utf-8",
}


@functools.cache
def _asset(name: str) -> tuple[bytes, str] | None:
    files = resources.files("taskbridge._dashboard") / "static"
    item = files / name
    if not item.is_file():
        return None
    data = item.read_bytes()
    return data, '"' + hashlib.sha256(data).hexdigest()[:20] + '"'


def static(name: str, if_none_match: str | None) -> Response:
    kind = next((t for ext, t in _TYPES.items() if name.endswith(ext)), None)
    found = _asset(name) if kind and name != "index.html" else None
    if found is None:
        raise Problem(404, f"no static file {name!r}")
    data, etag = found
    headers = (("Content-Type", kind or ""), ("ETag", etag), ("Cache-Control", "no-cache"))
    if if_none_match == etag:
        return Response(304, headers, b"")
    return Response(200, headers, data)


def shell(root: str, csrf_token: str | None) -> Response:
    """The HTML page for every route, with ``root`` and the token in its meta tags."""
    found = _asset("index.html")
    assert found is not None, "taskbridge is installed without its dashboard files"
    text = found[0].decode()
    text = text.replace("__ROOT__", html.escape(root, quote=True))
    text = text.replace("__CSRF__", html.escape(csrf_token or "", quote=True))
    return Response(200, (
        ("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"),
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ), text.encode())
