"""How a schedule calls its task: the tick passed only to a task that asks for it, and the
call checked against the task's signature when the schedule is added, not at every tick.

A periodic task receives the tick's Unix timestamp (an ``int``) only through a parameter named
``timestamp``: positionally when it is the task's first parameter (``def report(timestamp,
kind)``, the form the contract shows), else as the keyword ``timestamp=``. A task without such
a parameter is called with the schedule's ``args`` and ``kwargs`` alone.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from taskbridge import _registry
from taskbridge._errors import InvalidTaskOptions

if TYPE_CHECKING:
    from taskbridge._task import Task

#: The parameter a periodic task declares to receive the tick's Unix timestamp.
TICK_PARAMETER = "timestamp"


def _signature(task: Task[Any, Any]) -> inspect.Signature:
    """The task's signature as producers call it (without the context of ``context=True``)."""
    signature = inspect.signature(task.func)
    parameters = list(signature.parameters.values())
    return signature.replace(parameters=parameters[1:] if task.context else parameters)


def tick_arguments(task: Task[Any, Any], tick: int, args: Sequence[Any],
                   kwargs: Mapping[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The arguments of one tick's call: the schedule's, with ``tick`` where the task asks
    for it (see the module docstring)."""
    parameters = list(_signature(task).parameters.values())
    declared = next((p for p in parameters if p.name == TICK_PARAMETER), None)
    if declared is None or declared.kind is inspect.Parameter.VAR_KEYWORD:
        return tuple(args), dict(kwargs)
    if parameters[0] is declared and declared.kind is not inspect.Parameter.KEYWORD_ONLY:
        return (tick, *args), dict(kwargs)
    return tuple(args), {**kwargs, TICK_PARAMETER: tick}


def check_call(schedule: str, task: Task[Any, Any], args: Sequence[Any],
               kwargs: Mapping[str, Any]) -> None:
    """Refuse a schedule whose ticks would all fail to call ``task``: ``InvalidTaskOptions``
    saying which arguments do not fit its signature and how the tick is passed."""
    if TICK_PARAMETER in kwargs and any(
        p.name == TICK_PARAMETER for p in _signature(task).parameters.values()
    ):
        raise InvalidTaskOptions(
            f"schedule {schedule!r}: kwargs {TICK_PARAMETER!r} is where {task.name} receives "
            "the tick's Unix time; leave it out of the schedule's kwargs"
        )
    call_args, call_kwargs = tick_arguments(task, 0, args, kwargs)
    try:
        _signature(task).bind(*call_args, **call_kwargs)
    except TypeError as exc:
        raise InvalidTaskOptions(
            f"schedule {schedule!r}: {task.name}{_signature(task)} cannot be called with "
            f"args={list(args)!r}, kwargs={dict(kwargs)!r}: {exc}. A periodic task receives "
            f"the tick's Unix time only through a parameter named {TICK_PARAMETER!r}"
        ) from None


def registered_task(schedule: str, name: str) -> Task[Any, Any]:
    """The task registered as ``name``, or ``InvalidTaskOptions`` naming the close matches
    and the registered ones (what ``taskbridge schedules add`` needs before it stores)."""
    tasks = _registry.all_tasks()
    if name in tasks:
        return tasks[name]
    close = difflib.get_close_matches(name, list(tasks), n=3)
    hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
    shown = ", ".join(sorted(tasks)[:20]) + (", ..." if len(tasks) > 20 else "")
    raise InvalidTaskOptions(
        f"schedule {schedule!r}: no task is registered as {name!r}; {hint}registered: "
        f"{shown or 'none'} (pass --imports MODULE or set TASKBRIDGE_IMPORTS to load the "
        "module that defines it)"
    )
