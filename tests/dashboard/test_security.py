"""Access and CSRF: Basic credentials, same-origin JSON for state changes, CSRF tokens,
and the loopback-only guard of a server without credentials."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator

import pytest

from conftest import TASKS, Api, put_record
from taskbridge import Bridge, Status
from taskbridge._dashboard.http import Handler
from taskbridge._dashboard.security import (
    allow_everyone,
    basic_auth,
    parse_credentials,
    token_csrf,
)
from taskbridge._dashboard.wsgi import WSGIApp


@pytest.fixture
def bridge() -> Iterator[Bridge]:
    """These checks do not depend on the store: memory:// only."""
    made = Bridge("memory://", imports=[TASKS])
    yield made
    made.close()


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"authorization": f"Basic {token}"}


def test_basic_auth_guards_everything(bridge: Bridge) -> None:
    """Without the right credentials every page, API call and asset is a 401 challenge."""
    api = Api(Handler(bridge, authorize=basic_auth("ops", "s3cret:x")))
    for path in ("/", "/api/executions", "/api/openapi.json", "/static/dashboard.js", "/metrics"):
        for headers in ({}, _basic("ops", "wrong"), _basic("other", "s3cret:x"),
                        {"authorization": "Basic !!!"}, {"authorization": "Bearer x"}):
            response = api.call("GET", path, headers=headers)
            assert response.status == 401, (path, headers)
            assert dict(response.headers)["WWW-Authenticate"].startswith("Basic realm=")
    assert api.call("GET", "/api/executions", headers=_basic("ops", "s3cret:x")).status == 200


def test_state_changes_must_be_same_origin_json(bridge: Bridge) -> None:
    """A form post, a cross-site request or a foreign Origin/Referer cannot change state."""
    api = Api(Handler(bridge, authorize=allow_everyone))
    pending = put_record(bridge)
    path = f"/api/executions/{pending.id}/cancel"
    refused = [
        ({"content-type": "application/x-www-form-urlencoded"}, 415),
        ({"content-type": "text/plain"}, 415),
        ({"origin": "https://evil.example"}, 403),
        ({"origin": "null"}, 403),
        ({"referer": "https://evil.example/page"}, 403),
        ({"sec-fetch-site": "cross-site"}, 403),
    ]
    for headers, status in refused:
        assert api.call("POST", path, headers=headers).status == status, headers
    assert bridge.store.get(pending.id).status is Status.PENDING
    same = {"origin": Api.origin, "referer": Api.origin + "/executions"}
    assert api.call("POST", path, headers=same).status == 202


def test_cookie_sessions_need_the_csrf_token(bridge: Bridge) -> None:
    """With a token check, state changes need the token the page was given."""
    handler = Handler(bridge, authorize=allow_everyone,
                      csrf=token_csrf(lambda request: "tok-123"),
                      csrf_token=lambda request: "tok-123")
    api = Api(handler)
    assert 'content="tok-123"' in api.call("GET", "/").body.decode()
    pending = put_record(bridge)
    path = f"/api/executions/{pending.id}/cancel"
    assert api.call("POST", path).status == 403
    assert api.call("POST", path, headers={"x-csrftoken": "wrong"}).status == 403
    assert api.call("POST", path, headers={"x-csrftoken": "tok-123"}).status == 202


def _wsgi(app: WSGIApp, host: str) -> int:
    captured: list[str] = []
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/health", "QUERY_STRING": "",
               "SCRIPT_NAME": "", "HTTP_HOST": host, "wsgi.input": io.BytesIO(),
               "wsgi.url_scheme": "http", "SERVER_NAME": "x", "SERVER_PORT": "80"}
    b"".join(app(environ, lambda status, headers: captured.append(status)))
    return int(captured[0].split()[0])


def test_unauthenticated_server_answers_only_to_loopback_names(bridge: Bridge) -> None:
    """Without credentials, a request for another host name (DNS rebinding) is refused."""
    app = WSGIApp(Handler(bridge, authorize=allow_everyone), loopback_only=True)
    for host in ("127.0.0.1:8787", "localhost:8787", "[::1]:8787", "localhost"):
        assert _wsgi(app, host) == 200, host
    for host in ("evil.example:8787", "10.0.0.1:8787", ""):
        assert _wsgi(app, host) == 403, host


def test_credentials_must_have_both_parts() -> None:
    """user:password parses; anything else is refused with an explanation."""
    assert parse_credentials("ops:pa:ss") == ("ops", "pa:ss")
    for text in ("ops", ":pw", "ops:", ""):
        with pytest.raises(ValueError, match="user:password"):
            parse_credentials(text)
