"""API errors as values: each becomes a JSON problem response (RFC 9457) with its status."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any


class Problem(Exception):
    """An error the API answers with ``status`` and a problem document.

    ``errors`` maps a request field (``schedule.expr``, ``kwargs``) to what is wrong with it,
    so a form can show each message beside its field.
    """

    def __init__(
        self, status: int, detail: str, *, errors: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or {}
        self.headers = headers or {}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "about:blank", "title": HTTPStatus(self.status).phrase,
            "status": self.status, "detail": self.detail,
        }
        if self.errors:
            body["errors"] = self.errors
        return body


def bad_request(detail: str, **errors: str) -> Problem:
    return Problem(400, detail, errors=errors)


def not_found(detail: str) -> Problem:
    return Problem(404, detail)


def conflict(detail: str) -> Problem:
    return Problem(409, detail)
