"""Receivers of Django's task signals that write what they saw to the file named by
``$DJANGOTASKS_SIGNAL_LOG`` (set for the worker processes of the tests): one JSON line per
signal, with the process that sent it."""

from __future__ import annotations

import json
import os
from typing import Any

from django.apps import AppConfig


class DjangoTasksConfig(AppConfig):
    name = "djangotasks"

    def ready(self) -> None:
        path = os.environ.get("DJANGOTASKS_SIGNAL_LOG")
        if not path:
            return
        try:
            from django.tasks import signals
        except ImportError:
            from django_tasks import signals  # type: ignore[no-redef]

        def recorder(name: str) -> Any:
            def record(sender: Any, task_result: Any, **kwargs: Any) -> None:
                line = {"signal": name, "sender": sender.__name__, "pid": os.getpid(),
                        "id": task_result.id, "status": str(task_result.status),
                        "attempts": task_result.attempts, "errors": len(task_result.errors)}
                with open(path, "a") as log:
                    log.write(json.dumps(line) + "\n")

            return record

        for name in ("task_enqueued", "task_started", "task_finished"):
            signal = getattr(signals, name)
            signal.connect(recorder(name), weak=False, dispatch_uid=f"djangotasks-{name}")
