"""The taskbridge hooks of the Flask adapter: inside an application context the current app's
bridge is the bridge, and every attempt of a task runs in an application context."""

from __future__ import annotations

import sys
import weakref
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from taskbridge import Bridge, Envelope, hookimpl

if TYPE_CHECKING:
    from flask import Flask

#: The extension's key in ``app.extensions``.
EXTENSION = "taskbridge"

_serving: weakref.ref[Flask] | None = None


def serve_app(app: Flask) -> None:
    """Make ``app`` the one tasks run in when no application context is active in the thread
    that runs them: ``flask taskbridge worker`` calls this for the app it loaded."""
    global _serving
    _serving = weakref.ref(app)


def _current_app() -> Flask | None:
    # Without flask imported, no application context can exist: this keeps processes that
    # have the adapter installed but run no Flask app from importing Flask.
    flask = sys.modules.get("flask")
    if flask is None or not flask.has_app_context():
        return None
    app: Flask = flask.current_app._get_current_object()
    return app


@hookimpl
def taskbridge_current_bridge() -> Bridge | None:
    """The current app's bridge, inside the context of an app that uses the extension."""
    app = _current_app()
    state = app.extensions.get(EXTENSION) if app is not None else None
    if state is None:
        return None
    bridge: Bridge = state.bridge
    return bridge


@hookimpl
def taskbridge_attempt_context(
    bridge: Bridge, envelope: Envelope
) -> AbstractContextManager[object] | None:
    """A fresh application context for each attempt (a clean ``g``; Flask-SQLAlchemy removes
    its session when it ends): of the app whose context is active where the task runs (the
    test kit's ``run_pending()`` inside ``app.app_context()``), else of the app the
    ``flask taskbridge`` command loaded."""
    app = _current_app() or (_serving() if _serving is not None else None)
    if app is None or EXTENSION not in app.extensions:
        return None
    return app.app_context()
