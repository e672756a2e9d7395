"""The ``TaskBridge`` extension: one bridge per application, configured from ``app.config``."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from flask import Blueprint, Flask, current_app, has_app_context

import taskbridge
from taskbridge import Bridge, Settings
from taskbridge_flask import _config, _errors
from taskbridge_flask.plugin import EXTENSION

if TYPE_CHECKING:
    from taskbridge.plugin import DashboardHandler


class AppState:
    """What the extension keeps for one application, in ``app.extensions["taskbridge"]``.

    The bridge is opened on first use, so creating an app connects to nothing, and an app
    under test (``taskbridge_memory``) never opens its configured backend.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._bridge: Bridge | None = None
        self._lock = threading.Lock()
        self._dashboards: dict[int, tuple[Bridge, DashboardHandler]] = {}

    @property
    def bridge(self) -> Bridge:
        """This application's bridge, opened on first use."""
        with self._lock:
            if self._bridge is None:
                self._bridge = Bridge(settings=self.settings)
            return self._bridge

    def dashboard_handler(self, bridge: Bridge) -> DashboardHandler:
        """The dashboard's handler for ``bridge`` (the app's, or a test's pinned one)."""
        from taskbridge_flask._dashboard import make_handler

        with self._lock:
            found = self._dashboards.get(id(bridge))
            if found is None or found[0] is not bridge:
                found = (bridge, make_handler(bridge))
                self._dashboards = {id(bridge): found}
            return found[1]

    def close(self) -> None:
        """Close the bridge, if it was opened; the next use opens it again."""
        with self._lock:
            bridge, self._bridge = self._bridge, None
            self._dashboards = {}
        if bridge is not None:
            bridge.close()


class TaskBridge:
    """taskbridge for one or more Flask applications.

    ``TaskBridge(app)``, or ``tasks_ext = TaskBridge()`` then ``tasks_ext.init_app(app)`` in an
    application factory. Each app gets its own bridge, configured from its ``TASKBRIDGE_*``
    keys (``TASKBRIDGE_URL``, ``TASKBRIDGE_IMPORTS``, ``TASKBRIDGE_DEFAULT_QUEUE``,
    ``TASKBRIDGE_ROUTES``, ``TASKBRIDGE_RESULT_TTL``, ... one per :class:`taskbridge.Settings`
    field), over the ``TASKBRIDGE_*`` environment variables, over the defaults. Inside an
    application context, ``task.enqueue()`` and :attr:`bridge` use the current app's bridge.
    """

    def __init__(self, app: Flask | None = None) -> None:
        self._dashboard: Blueprint | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Configure ``app``: check its ``TASKBRIDGE_*`` keys (a bad one raises
        :class:`taskbridge.ConfigurationError` now, not on the first enqueue), keep its state
        in ``app.extensions["taskbridge"]`` and, unless ``TASKBRIDGE_JSON_ERRORS`` is false,
        answer taskbridge errors raised in its views with JSON problem responses."""
        if EXTENSION in app.extensions:
            raise RuntimeError(
                f"taskbridge is already initialised on the app {app.name!r}; call init_app "
                "once per application"
            )
        settings = _config.settings_from_config(app.config)
        _config.authorizer(app.config)
        app.extensions[EXTENSION] = AppState(settings)
        if app.config.get(_config.JSON_ERRORS, True):
            _errors.register(app)

    @property
    def bridge(self) -> Bridge:
        """The current application's bridge (inside the taskbridge test kit, the test's)."""
        state(current_app_checked())
        return taskbridge.get_bridge()

    def close(self, app: Flask | None = None) -> None:
        """Close ``app``'s bridge (default: the current app's), e.g. at the end of a test."""
        state(app or current_app_checked()).close()

    @property
    def dashboard(self) -> Blueprint:
        """The operations dashboard and its REST API as a blueprint, for every app using this
        extension: ``app.register_blueprint(tasks_ext.dashboard, url_prefix="/tasks")``.

        Denied to everyone unless ``TASKBRIDGE_DASHBOARD_AUTHORIZE`` is a callable (taking no
        arguments, called inside the request) that returns a truthy value.
        """
        if self._dashboard is None:
            from taskbridge_flask._dashboard import make_blueprint

            self._dashboard = make_blueprint()
        return self._dashboard


def current_app_checked() -> Flask:
    if not has_app_context():
        raise RuntimeError(
            "taskbridge_flask needs an application context here: use it in a request, a "
            "'flask' command or 'with app.app_context():'"
        )
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return app


def state(app: Flask) -> AppState:
    """``app``'s taskbridge state; a clear error for an app the extension was not given."""
    found = app.extensions.get(EXTENSION)
    if not isinstance(found, AppState):
        raise RuntimeError(
            f"the Flask app {app.name!r} does not use taskbridge: call "
            "TaskBridge().init_app(app) in its factory"
        )
    return found
