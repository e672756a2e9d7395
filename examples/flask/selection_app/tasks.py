"""The background work: a long selection with progress messages, a retrying call to an
external service, and a periodic cleanup. Workers run each task in the app context, so
``db.session`` and ``current_app`` just work."""

import datetime as dt
import random
import time

from flask import current_app

from selection_app import db
from selection_app.models import Message
from taskbridge import Every, RetryPolicy, TaskContext, periodic, task


@task(context=True)
def run_selection(context: TaskContext, people: int) -> dict[str, object]:
    """Load the sheet, then draw ``people`` by stratified lottery, reporting as it goes."""
    steps = current_app.config.get("SELECTION_STEPS", 10)

    def report(percent: float, text: str) -> None:
        db.session.add(Message(task_id=context.id, text=text))
        db.session.commit()
        context.set_progress(percent, text)

    report(0, "loading the respondents sheet")
    load_sheet.enqueue(f"https://sheets.example.org/{context.id}")
    for step in range(1, steps + 1):
        context.raise_if_canceled()
        time.sleep(current_app.config.get("SELECTION_STEP_SECONDS", 0.3))
        report(100 * step / steps, f"drawing: round {step} of {steps}")
    chosen = sorted(random.sample(range(1, 10 * people + 1), people))
    report(100, f"selected {people} people")
    return {"selected": chosen}


@task(retry=RetryPolicy(max_attempts=4, backoff=1.0, factor=2.0, jitter=True))
def load_sheet(url: str) -> str:
    """An external call that fails now and then: retried with backoff, 4 attempts at most."""
    if random.random() < current_app.config.get("SHEET_FAILURE_RATE", 0.3):
        raise ConnectionError(f"{url} did not answer")
    return f"loaded {url}"


@periodic(Every(minutes=10))
@task
def clean_up(timestamp: int) -> int:
    """Forget the messages of selections older than a week."""
    cutoff = dt.datetime.fromtimestamp(timestamp, dt.UTC) - dt.timedelta(days=7)
    deleted = db.session.execute(db.delete(Message).where(Message.at < cutoff)).rowcount
    db.session.commit()
    return int(deleted or 0)
