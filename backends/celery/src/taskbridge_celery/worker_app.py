"""The worker side inside Celery: one task function for every taskbridge task, and the places
where Celery refuses a message, each made to report it in taskbridge's store."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from celery import Celery, Task
from celery.exceptions import InvalidTaskError, Reject, Retry
from celery.worker.consumer import Consumer
from celery.worker.request import Request
from kombu.exceptions import ContentDisallowed, DecodeError

from taskbridge import Status
from taskbridge.plugin import (
    ENVELOPE_DEPTH,
    AttemptFailed,
    Envelope,
    Record,
    current_worker,
    execute,
    json_deeper_than,
    registered_tasks,
)

logger = logging.getLogger("taskbridge.celery")

#: Seconds to wait before handing a message back when the store cannot be reached, so a store
#: outage does not turn into a hot redelivery loop.
STORE_DOWN_PAUSE = 1.0
#: How deeply a task message's decoded parts may nest: the envelope sits two levels down (the
#: message's ``args``, then the envelope). The prefork pool pickles them to a child, and a
#: value pickle cannot handle (past ~480 levels) would hold a pool slot forever.
MESSAGE_DEPTH = ENVELOPE_DEPTH + 2


def report_rejected(envelope_id: Any, reason: str) -> None:
    """A message for ``envelope_id`` will never run: end its waiting record FAILED, saying why.

    Only a record still waiting to run is touched; a running or finished one belongs to a
    legitimate delivery and is left alone. Callers log the refusal after this, so a log line
    saying a message was refused means the store says so too.
    """
    if isinstance(envelope_id, str):
        current_worker().reject(envelope_id, "taskbridge.MessageRejected", reason)


class EnvelopeRequest(Request):  # type: ignore[misc]
    """Celery's request, refusing a message nested too deep to hand to a pool, and reporting a
    message body it refuses to decode (pickle, broken JSON).

    With protocol 2 the body is decoded in the pool process just before the task would run;
    Celery then fails the request without calling the task, and this is where we hear of it.
    """

    def __init__(self, message: Any, **options: Any) -> None:
        super().__init__(message, **options)
        # Refused here, before the consumer hands it to the pool: Celery's consumer rejects it
        # and reports it through on_invalid_task, and no pool slot is taken.
        _, _, embed = self._payload
        if json_deeper_than([self._request_dict, embed], MESSAGE_DEPTH + 1):
            raise InvalidTaskError(
                f"message {self.id} for {self.name} nests deeper than {MESSAGE_DEPTH} levels; "
                "taskbridge never sends such a message (arguments nest at most "
                f"{ENVELOPE_DEPTH - 4} levels)"
            )

    def on_failure(self, exc_info: Any, send_failed_event: bool = True,
                   return_ok: bool = False) -> Any:
        exc = getattr(exc_info.exception, "exc", exc_info.exception)
        if isinstance(exc, ContentDisallowed | DecodeError):
            reason = (f"message {self.id} for {self.name} refused and never run: "
                      f"content type {self.content_type!r}: {exc}")
            report_rejected(self.id, reason)
            logger.error("%s", reason)
        return super().on_failure(exc_info, send_failed_event=send_failed_event,
                                  return_ok=return_ok)


class TaskbridgeTask(Task):  # type: ignore[misc]
    """Base of every taskbridge task as Celery sees it: no Celery retries, no result."""

    Request = "taskbridge_celery.worker_app:EnvelopeRequest"
    acks_late = True
    ignore_result = True
    max_retries = 0
    typing = False  # the single argument is checked as an envelope, not against a signature


def run_envelope(task: Task, *args: Any, **kwargs: Any) -> None:
    """The one Celery task body: hand the envelope to taskbridge's execution path."""
    worker = current_worker()
    request_id = task.request.id
    try:
        if len(args) != 1 or kwargs:
            raise ValueError("a taskbridge message carries exactly one argument, its envelope")
        envelope = Envelope.from_dict(args[0])
        if envelope.id != request_id or envelope.task_name != task.name:
            raise ValueError(f"envelope {envelope.id} ({envelope.task_name}) does not match "
                             f"the Celery message {request_id} ({task.name})")
    except ValueError as exc:
        reason = f"message {request_id} for {task.name} refused and never run: {exc}"
        report_rejected(request_id, reason)
        logger.error("%s", reason)
        raise Reject(reason, requeue=False) from exc
    try:
        # Named by the worker's id, as `taskbridge status` lists it (forked children share it).
        record = execute(worker.bridge, envelope, worker=worker.id)
    except Exception as exc:
        # Only a broken store gets here: the broker still holds the message (late acks), so
        # it is handed back, to run once the store is up again.
        logger.exception("store failed while running %s [%s]; message handed back",
                         envelope.task_name, envelope.id)
        time.sleep(STORE_DOWN_PAUSE)
        raise Reject(str(exc), requeue=True) from exc
    report_outcome(record)


def report_outcome(record: Record | None) -> None:
    """Tell Celery how the attempt went, so its logs, its events and Flower agree with the store.

    A FAILED attempt raises :class:`AttemptFailed`: a failed Celery task ("raised unexpected",
    ``task-failed``), its message acknowledged (``task_acks_on_failure_or_timeout``) and not
    retried by Celery (``max_retries=0``). A RETRYING one raises Celery's ``Retry`` without
    sending anything (taskbridge has sent the next attempt already): ``task-retried``, acked.
    Anything else (SUCCEEDED, CANCELED as asked, an attempt not run) returns: ``succeeded``.
    """
    if record is None or record.status not in (Status.FAILED, Status.RETRYING):
        return
    failure = AttemptFailed.of(record)
    if record.status is Status.FAILED:
        raise failure
    when = datetime.fromtimestamp(record.run_at, UTC) if record.run_at is not None else None
    raise Retry(exc=failure, when=when)


def register_tasks(app: Celery) -> list[str]:
    """Register every taskbridge task under its own name, all bound to :func:`run_envelope`."""
    names = sorted(registered_tasks())
    for name in names:
        if name not in app.tasks:
            app.task(name=name, base=TaskbridgeTask, bind=True)(run_envelope)
    return names


class TaskbridgeConsumer(Consumer):  # type: ignore[misc]
    """Celery's consumer, reporting in the store every message it refuses before any task.

    Celery logs these and drops them; a record left PENDING forever would hide them.
    """

    def create_task_handler(self, *args: Any, **kwargs: Any) -> Any:
        handle = super().create_task_handler(*args, **kwargs)
        connection_errors = self.connection_errors

        def on_task_received(message: Any) -> Any:
            try:
                return handle(message)
            except connection_errors:
                raise
            except Exception as exc:
                # A message that passed Celery's checks but breaks its handling (one with no
                # content type, say) would otherwise stop the whole worker.
                logger.exception("could not handle a message; dropping it")
                message.reject_log_error(logger, connection_errors)
                _refused(message, f"cannot be handled: {exc!r}")
                return None

        return on_task_received

    def on_unknown_task(self, body: Any, message: Any, exc: Exception) -> None:
        super().on_unknown_task(body, message, exc)
        envelope = _envelope_of(message)
        if envelope is not None:
            # The core fails it with TaskNotRegistered: this worker does not import its module.
            current_worker().execute(envelope)
        else:
            _refused(message, f"unknown task: {exc}")

    def on_invalid_task(self, body: Any, message: Any, exc: Exception) -> None:
        super().on_invalid_task(body, message, exc)
        _refused(message, str(exc))

    def on_decode_error(self, message: Any, exc: Exception) -> None:
        super().on_decode_error(message, exc)
        _refused(message, f"cannot decode: {exc}")

    def on_unknown_message(self, body: Any, message: Any) -> None:
        super().on_unknown_message(body, message)
        _refused(message, "not a Celery task message")


def _refused(message: Any, problem: str) -> None:
    headers = getattr(message, "headers", None)
    headers = headers if isinstance(headers, dict) else {}
    reason = (f"message {headers.get('id')} for {headers.get('task')} refused and never run "
              f"(content type {getattr(message, 'content_type', None)!r}): {problem}")
    report_rejected(headers.get("id"), reason)
    logger.error("%s", reason)


def _envelope_of(message: Any) -> Envelope | None:
    try:
        args, _, _ = message.decode()
        return Envelope.from_dict(args[0])
    except Exception:  # anything but a clean envelope is just reported
        return None
