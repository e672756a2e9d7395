"""A producer process for the crash test: enqueues ``note`` inside ``transaction.atomic()`` and
kills itself with SIGKILL after the commit, before the message is sent (its on-commit callback
is registered first, so it runs first). Prints the execution's id before dying."""

from __future__ import annotations

import os
import signal
import sys

import django

django.setup()

from django.db import transaction  # noqa: E402
from testapp.tasks import note  # noqa: E402

alias, path, token = sys.argv[1:4]
with transaction.atomic(using=alias):
    transaction.on_commit(lambda: os.kill(os.getpid(), signal.SIGKILL), using=alias)
    result = note.enqueue(path, token)
    print(result.id, flush=True)
print("still alive after commit: the kill did not happen", flush=True)
