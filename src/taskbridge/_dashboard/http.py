"""The dashboard over HTTP, framework-free: a request in, a response out.

:class:`Handler` authorizes, checks CSRF, routes and turns every refusal into a JSON problem
response. The standalone WSGI server and the Django and Flask adapters only build a
:class:`Request` (the path below their mount prefix) and send the :class:`Response` back.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import attrs

from taskbridge import Bridge, StoreUnavailable
from taskbridge._dashboard import pages
from taskbridge._dashboard.messages import Request, Response, json_response, problem_response
from taskbridge._dashboard.operations import ExecutionQuery, Executions, health
from taskbridge._dashboard.params import parse_limit, parse_statuses, parse_time, parse_window
from taskbridge._dashboard.problems import Problem
from taskbridge._dashboard.queries import ExecutionQueries, queries_for
from taskbridge._dashboard.schedules import Schedules
from taskbridge._dashboard.security import same_origin_json
from taskbridge._dashboard.statistics import Statistics
from taskbridge.plugin import translated

logger = logging.getLogger("taskbridge.dashboard")
MAX_BODY = 1 << 20
_SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
)


Authorizer = Callable[[Request], Response | None]
CsrfCheck = Callable[[Request], Problem | None]


Route = tuple[str, re.Pattern[str], str]
_ROUTES: list[Route] = [
    (method, re.compile(f"^{pattern}$"), action)
    for method, pattern, action in (
        ("GET", r"/api/executions", "list_executions"),
        ("GET", r"/api/executions/(?P<id>[^/]+)", "get_execution"),
        ("POST", r"/api/executions/(?P<id>[^/]+)/retry", "retry_execution"),
        ("POST", r"/api/executions/(?P<id>[^/]+)/cancel", "cancel_execution"),
        ("GET", r"/api/tasks", "list_tasks"),
        ("GET", r"/api/tasks/(?P<name>[^/]+)/stats", "task_stats"),
        ("GET", r"/api/statistics", "statistics"),
        ("GET", r"/api/schedules", "list_schedules"),
        ("POST", r"/api/schedules", "create_schedule"),
        ("GET", r"/api/schedules/(?P<name>[^/]+)", "get_schedule"),
        ("PUT", r"/api/schedules/(?P<name>[^/]+)", "update_schedule"),
        ("DELETE", r"/api/schedules/(?P<name>[^/]+)", "delete_schedule"),
        ("POST", r"/api/schedules/(?P<name>[^/]+)/run", "run_schedule"),
        ("GET", r"/api/health", "health"),
        ("GET", r"/api/openapi.json", "openapi"),
        ("GET", r"/metrics", "metrics"),
        ("GET", r"/static/(?P<name>[A-Za-z0-9_.-]+)", "static"),
        ("GET", r"/(?:executions(?:/[^/]+)?|schedules|tasks(?:/[^/]+)?)?/?", "page"),
    )
]


class Handler:
    """The dashboard: pages, the JSON API, metrics, for one bridge.

    ``authorize`` decides who may see anything (required: there is no default access);
    ``csrf`` checks state-changing requests (JSON from this origin by default);
    ``csrf_token``, when an adapter authenticates by cookie, gives the token the pages send
    back in ``X-CSRFToken``.
    """

    def __init__(
        self,
        bridge: Bridge,
        *,
        authorize: Authorizer,
        csrf: CsrfCheck = same_origin_json,
        csrf_token: Callable[[Request], str | None] | None = None,
        queries: ExecutionQueries | None = None,
    ) -> None:
        self.bridge = bridge
        self.authorize = authorize
        self.csrf = csrf
        self.csrf_token = csrf_token
        queries = queries or queries_for(bridge.store)
        self.executions = Executions(bridge, queries)
        self.statistics = Statistics(bridge, queries)
        self.schedules = Schedules(bridge, queries)
        self._exporter: Any = None

    def __call__(self, request: Request) -> Response:
        try:
            denied = self.authorize(request)
            if denied is not None:
                return denied
            with translated(self.bridge, f"answer {request.method} {request.path}"):
                response = self._route(request)
        except Problem as problem:
            response = problem_response(problem)
        except StoreUnavailable as exc:
            response = problem_response(Problem(503, str(exc)))
        except Exception:
            logger.exception("dashboard: %s %s failed", request.method, request.path)
            response = problem_response(Problem(500, "internal error; see the server's log"))
        return attrs.evolve(response, headers=response.headers + _SECURITY_HEADERS)

    def _route(self, request: Request) -> Response:
        allowed = []
        for method, pattern, action in _ROUTES:
            match = pattern.match(request.path)
            if match is None:
                continue
            if method != request.method:
                allowed.append(method)
                continue
            if method not in ("GET", "HEAD"):
                refused = self.csrf(request)
                if refused is not None:
                    raise refused
            if len(request.body) > MAX_BODY:
                raise Problem(413, f"request body over {MAX_BODY} bytes")
            result: Response = getattr(self, "_" + action)(request, **match.groupdict())
            return result
        if allowed:
            raise Problem(405, f"{request.method} is not allowed on {request.path}",
                          headers={"Allow": ", ".join(sorted(set(allowed)))})
        raise Problem(404, f"nothing at {request.path}")

    # -- executions ----------------------------------------------------------------------

    def _list_executions(self, request: Request) -> Response:
        query = ExecutionQuery(
            status=parse_statuses(request.param("status")),
            task=request.param("task") or None,
            queue=request.param("queue") or None,
            since=parse_time(request.param("since"), "since"),
            until=parse_time(request.param("until"), "until"),
            id=(request.param("id") or "").strip() or None,
            limit=parse_limit(request.param("limit")),
            cursor=request.param("cursor") or None,
        )
        return json_response(200, self.executions.list(query))

    def _get_execution(self, request: Request, id: str) -> Response:
        return json_response(200, self.executions.get(id))

    def _retry_execution(self, request: Request, id: str) -> Response:
        return json_response(202, self.executions.retry(id))

    def _cancel_execution(self, request: Request, id: str) -> Response:
        return json_response(202, self.executions.cancel(id))

    # -- statistics ----------------------------------------------------------------------

    def _list_tasks(self, request: Request) -> Response:
        return json_response(200, self.statistics.tasks())

    def _task_stats(self, request: Request, name: str) -> Response:
        window = parse_window(request.param("window"))
        return json_response(200, self.statistics.task(name, window))

    def _statistics(self, request: Request) -> Response:
        window = parse_window(request.param("window"))
        return json_response(200, self.statistics.overview(window))

    def _health(self, request: Request) -> Response:
        status, report = health(self.bridge)
        return json_response(status, report)

    # -- schedules -----------------------------------------------------------------------

    def _list_schedules(self, request: Request) -> Response:
        return json_response(200, self.schedules.list())

    def _create_schedule(self, request: Request) -> Response:
        created = self.schedules.create(request.json())
        return json_response(201, created)

    def _get_schedule(self, request: Request, name: str) -> Response:
        return json_response(200, self.schedules.get(name))

    def _update_schedule(self, request: Request, name: str) -> Response:
        return json_response(200, self.schedules.update(name, request.json()))

    def _delete_schedule(self, request: Request, name: str) -> Response:
        self.schedules.delete(name)
        return Response(204, (), b"")

    def _run_schedule(self, request: Request, name: str) -> Response:
        return json_response(202, self.schedules.run_now(name))

    # -- documents, metrics, pages -------------------------------------------------------

    def _openapi(self, request: Request) -> Response:
        from taskbridge._dashboard.openapi import document

        return json_response(200, document(request.root))

    def _metrics(self, request: Request) -> Response:
        from taskbridge._dashboard.metrics import DashboardMetrics

        if self._exporter is None:
            self._exporter = DashboardMetrics(self.bridge, self.statistics)
        kind, body = self._exporter.render()
        return Response(200, (("Content-Type", kind), ("Cache-Control", "no-store")), body)

    def _static(self, request: Request, name: str) -> Response:
        return pages.static(name, request.headers.get("if-none-match"))

    def _page(self, request: Request) -> Response:
        token = self.csrf_token(request) if self.csrf_token is not None else None
        return pages.shell(request.root, token)

