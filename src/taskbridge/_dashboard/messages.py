"""Requests and responses as the handler sees them, and the JSON and problem responses."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from taskbridge._dashboard.problems import Problem, bad_request


@attrs.frozen
class Request:
    """One HTTP request as the handler sees it.

    ``path`` is below the mount prefix and starts with ``/``; ``root`` is the prefix as the
    browser sees it, ending in ``/``; ``origin`` is this server's ``scheme://host[:port]``.
    Header names are lower case.
    """

    method: str
    path: str
    query: Mapping[str, list[str]] = attrs.field(factory=dict)
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: bytes = b""
    root: str = "/"
    origin: str = ""

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def json(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise bad_request(f"the request body is not JSON: {exc}") from None


@attrs.frozen
class Response:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def json_response(status: int, data: Any, *, kind: str = "application/json",
                  headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(data, separators=(",", ":"), default=str, allow_nan=False).encode()
    return Response(status, (("Content-Type", kind), ("Cache-Control", "no-store"),
                             *(headers or {}).items()), body)


def problem_response(problem: Problem) -> Response:
    return json_response(problem.status, problem.to_dict(), kind="application/problem+json",
                         headers=problem.headers)
