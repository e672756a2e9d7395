"""Enqueue when the database transaction commits: Flask-SQLAlchemy (or any SQLAlchemy
session), never when it rolls back.

``after_commit(send_welcome).enqueue(user.id)`` in a view that then commits sends the task
after the commit, so the worker finds the row the task is about; a rollback, of the whole
transaction or of a savepoint the call was made in, drops it. Outside a transaction it sends
at once. Sending happens after the data is committed: if the backend is down then, the
commit stands and ``session.commit()`` raises the ``EnqueueError``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, ParamSpec

import attrs
from flask import current_app

from taskbridge import Bridge, Result, Task, get_bridge
from taskbridge.plugin import check_arguments

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, SessionTransaction, scoped_session

P = ParamSpec("P")
#: Where a session keeps the calls waiting for its commit, in ``session.info``.
INFO_KEY = "taskbridge.after_commit"


@attrs.define
class AfterCommit:
    """One call waiting for a commit. ``result`` is its :class:`taskbridge.Result` once sent;
    ``dropped`` is true once a rollback discarded it."""

    send: Callable[[], Result] = attrs.field(repr=False)
    transaction: SessionTransaction | None = attrs.field(repr=False)
    result: Result | None = None
    dropped: bool = False

    @property
    def sent(self) -> bool:
        return self.result is not None


class Deferred(Generic[P]):
    """A task whose ``enqueue`` waits for the session's commit (see :func:`after_commit`)."""

    def __init__(self, task: Task[P, Any], session: Session | scoped_session[Any] | None) -> None:
        self.task = task
        self.session = session

    def enqueue(self, *args: P.args, **kwargs: P.kwargs) -> AfterCommit:
        """Check the arguments now; send the task when the session's transaction commits."""
        check_arguments(tuple(args), dict(kwargs))
        task = self.task
        if task.options.bridge is None:
            # The bridge of the request, not whatever is current when the commit happens.
            task = task.using(bridge=get_bridge())
        bridge: Bridge = task.bridge

        def send() -> Result:
            return task.using(bridge=bridge).enqueue(*args, **kwargs)

        session = _session(self.session)
        if not session.in_transaction():
            return AfterCommit(send, None, result=send())
        _listen()
        transaction = session.get_nested_transaction() or session.get_transaction()
        waiting = AfterCommit(send, transaction)
        session.info.setdefault(INFO_KEY, []).append(waiting)
        return waiting


def after_commit(
    task: Task[P, Any], *, session: Session | scoped_session[Any] | None = None
) -> Deferred[P]:
    """``task``, enqueued when ``session`` commits (default: the current app's
    Flask-SQLAlchemy ``db.session``): ``after_commit(send_welcome).enqueue(user.id)``."""
    return Deferred(task, session)


def _session(given: Session | scoped_session[Any] | None) -> Session:
    from sqlalchemy.orm import scoped_session

    if given is None:
        extension = current_app.extensions.get("sqlalchemy")
        if extension is None:
            raise RuntimeError(
                "after_commit() needs a session: this app has no Flask-SQLAlchemy extension; "
                "pass session=your_session"
            )
        given = extension.session
    if isinstance(given, scoped_session):
        found: Session = given()
        return found
    return given


_listening = threading.Lock()
_listened = False


def _listen() -> None:
    """Listen to every SQLAlchemy session's commits and rollbacks (once per process)."""
    global _listened
    with _listening:
        if _listened:
            return
        from sqlalchemy import event
        from sqlalchemy.orm import Session

        event.listen(Session, "after_commit", _committed)
        event.listen(Session, "after_soft_rollback", _rolled_back)
        event.listen(Session, "after_transaction_end", _ended)
        _listened = True


def _committed(session: Session) -> None:
    """The outermost transaction committed: send everything still waiting, in order; one
    that cannot be sent does not stop the others (the first error is raised after them)."""
    if session.get_nested_transaction() is not None:
        return  # SQLAlchemy also says "after_commit" when a savepoint is released
    waiting: list[AfterCommit] = session.info.pop(INFO_KEY, [])
    first: Exception | None = None
    for call in waiting:
        try:
            call.result = call.send()
        except Exception as exc:
            first = first or exc
    if first is not None:
        raise first


def _rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """Drop the calls made inside the transaction (or savepoint) that rolled back."""
    waiting: list[AfterCommit] = session.info.get(INFO_KEY, [])
    kept = []
    for call in waiting:
        if _inside(call.transaction, previous_transaction):
            call.dropped = True
        else:
            kept.append(call)
    session.info[INFO_KEY] = kept


def _ended(session: Session, transaction: SessionTransaction) -> None:
    """The outermost transaction ended without a commit (closed): drop what waits for it."""
    if transaction.parent is None:
        for call in session.info.pop(INFO_KEY, []):
            call.dropped = True


def _inside(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False
