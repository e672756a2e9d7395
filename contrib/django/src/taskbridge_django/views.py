"""The dashboard mounted in a Django URLconf (filled in with the dashboard stage)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse


def dashboard(request: Any, path: str) -> HttpResponse:
    return HttpResponse(status=404)
