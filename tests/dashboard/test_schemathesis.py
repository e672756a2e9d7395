"""Property-based API testing from the OpenAPI document: no server error, no response that
breaks the schema, no undocumented status or content type."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conftest import TASKS, put_record
from taskbridge import Bridge, Every, Status
from taskbridge._dashboard.http import Handler
from taskbridge._dashboard.security import allow_everyone
from taskbridge._dashboard.wsgi import WSGIApp

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture(scope="module")
def api_schema() -> Iterator[object]:
    """The document the dashboard serves, bound to the dashboard's WSGI app on memory://."""
    bridge = Bridge("memory://", imports=[TASKS])
    for status in (Status.SUCCEEDED, Status.FAILED, Status.PENDING, Status.RUNNING):
        put_record(bridge, status=status)
    bridge.schedules.add("every-minute", "dash.tick", Every(minutes=1))
    app = WSGIApp(Handler(bridge, authorize=allow_everyone), loopback_only=True)
    yield schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    bridge.close()


def test_api_matches_its_openapi_document(api_schema: object) -> None:
    """Generated requests to every operation never get a 5xx or a response the OpenAPI
    document does not allow."""
    operations = [result.ok() for result in api_schema.get_all_operations()]  # type: ignore[attr-defined]
    assert len(operations) == 15
    modes = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
    for operation, mode in ((o, m) for o in operations for m in modes):

        @given(case=operation.as_strategy(mode))
        @settings(max_examples=30, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: object) -> None:
            case.call_and_validate(checks=CHECKS)  # type: ignore[attr-defined]

        try:
            check()
        except Unsatisfiable:
            # Nothing to get wrong: an operation without parameters or body.
            assert mode is schemathesis.GenerationMode.NEGATIVE, operation
