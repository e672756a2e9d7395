"""An OpenDLP-shaped Flask app on taskbridge: a route starts a long selection with progress
messages, the browser polls its JSON status, and workers run tasks in the app context."""

from typing import Any

from flask import Flask, request
from flask_sqlalchemy import SQLAlchemy
from taskbridge_flask import TaskBridge

db = SQLAlchemy()
tasks_ext = TaskBridge()


def create_app(**config: Any) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(
        SECRET_KEY="change me",
        SQLALCHEMY_DATABASE_URI="sqlite:///selection.db",
        TASKBRIDGE_IMPORTS=["selection_app.tasks"],
        # Who may open /tasks/: here, browsers on this machine; in OpenDLP, admins.
        TASKBRIDGE_DASHBOARD_AUTHORIZE=lambda: request.remote_addr == "127.0.0.1",
    )
    app.config.from_prefixed_env()  # FLASK_SQLALCHEMY_DATABASE_URI=... and so on
    app.config.update(config)
    db.init_app(app)
    tasks_ext.init_app(app)  # TASKBRIDGE_URL from the environment, else huey+sqlite
    from selection_app.views import views

    app.register_blueprint(views)
    app.register_blueprint(tasks_ext.dashboard, url_prefix="/tasks")
    with app.app_context():
        db.create_all()
    return app
