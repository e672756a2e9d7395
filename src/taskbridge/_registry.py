"""The task registry: names to tasks, the only way a worker turns a message into code."""

from __future__ import annotations

import importlib
import os
import threading
from typing import TYPE_CHECKING, Any

from taskbridge._errors import ConfigurationError, DuplicateTaskName, TaskNotRegistered

if TYPE_CHECKING:
    from taskbridge._task import Task

_lock = threading.Lock()
_tasks: dict[str, Task[Any, Any]] = {}


def _same_definition(a: Task[Any, Any], b: Task[Any, Any]) -> bool:
    # Re-importing a module (a reload, or a script run as __main__ and imported) defines the
    # same function again; that is not a clash.
    code_a, code_b = a.func.__code__, b.func.__code__
    return (code_a.co_filename, code_a.co_firstlineno) == (
        code_b.co_filename, code_b.co_firstlineno
    )


def register(task: Task[Any, Any]) -> None:
    """Add ``task``; a different function already under its name is :class:`DuplicateTaskName`."""
    with _lock:
        existing = _tasks.get(task.name)
        if existing is not None and not _same_definition(existing, task):
            raise DuplicateTaskName(
                f"task name {task.name!r} is already used by {existing.func.__module__}."
                f"{existing.func.__qualname__}; pass name='...' to @task to tell them apart"
            )
        _tasks[task.name] = task


def unregister(name: str) -> None:
    """Remove a task (for tests that define throwaway tasks)."""
    with _lock:
        _tasks.pop(name, None)


def lookup(name: str) -> Task[Any, Any]:
    """The task registered as ``name``; :class:`TaskNotRegistered` if none is."""
    try:
        return _tasks[name]
    except KeyError:
        raise TaskNotRegistered(
            f"no task is registered as {name!r}; import the module that defines it "
            "(list it in the 'imports' setting or pass --imports to the worker)"
        ) from None


def is_registered(task: Task[Any, Any]) -> bool:
    """True when ``task`` itself, not another function under its name, is registered."""
    with _lock:
        other = _tasks.get(task.name)
    return other is not None and other.func is task.func


def all_tasks() -> dict[str, Task[Any, Any]]:
    """A snapshot of every registered task by name."""
    with _lock:
        return dict(_tasks)


def import_modules(modules: tuple[str, ...] | list[str]) -> None:
    """Import the modules that define tasks (the ``imports`` setting); a module that cannot be
    found is a ``ConfigurationError`` saying where it was looked for."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is None or not (module + ".").startswith(exc.name + "."):
                raise  # the module exists; something it imports does not
            raise ConfigurationError(
                f"imports: cannot import {module!r} ({exc}); check the name in --imports / "
                f"TASKBRIDGE_IMPORTS and that it is importable from {os.getcwd()} "
                "(set PYTHONPATH, or install the package)"
            ) from exc
