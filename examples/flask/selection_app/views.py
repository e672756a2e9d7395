"""Start a selection, poll its status as JSON, cancel it. Unknown ids answer 404 and a task
backend that is down answers 503, as JSON, without code here."""

from typing import Any

from flask import Blueprint, jsonify, render_template, request

from selection_app import db, tasks_ext
from selection_app.models import Message
from selection_app.tasks import run_selection

views = Blueprint("selection", __name__)


@views.get("/")
def index() -> str:
    return render_template("index.html")


@views.post("/selections")
def start() -> Any:
    people = int(request.form.get("people", 30))
    return jsonify(id=run_selection.enqueue(people).id), 202


@views.get("/selections/<id>")
def status(id: str) -> Any:
    result = tasks_ext.bridge.get_result(id)
    messages = db.session.scalars(
        db.select(Message.text).where(Message.task_id == id).order_by(Message.id)
    ).all()
    percent, message = result.progress or (0.0, "")
    return jsonify(
        status=result.status.value, percent=percent, message=message, messages=list(messages),
        value=result.value, error=result.error.message if result.error else None,
    )


@views.post("/selections/<id>/cancel")
def cancel(id: str) -> Any:
    return jsonify(status=tasks_ext.bridge.cancel(id).status.value), 202
