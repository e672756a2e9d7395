"""The app's own table: the messages a selection logs as it runs, by task id."""

import datetime as dt

from sqlalchemy.orm import Mapped, mapped_column

from selection_app import db


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Message(db.Model):  # type: ignore[name-defined,misc]
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(index=True)
    text: Mapped[str]
    at: Mapped[dt.datetime] = mapped_column(default=now)
