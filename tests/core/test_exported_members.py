"""The public surface: ``taskbridge.__all__`` is sorted, importable and complete."""

from __future__ import annotations

import inspect
import types

import taskbridge
import taskbridge.plugin as plugin
from taskbridge import _errors as errors


def test_all_is_sorted() -> None:
    """__all__ is kept in sorted order, so additions are easy to review."""
    assert taskbridge.__all__ == sorted(taskbridge.__all__)
    assert len(set(taskbridge.__all__)) == len(taskbridge.__all__)


def test_every_exported_name_is_importable() -> None:
    """Each name in __all__ exists on the package."""
    missing = [name for name in taskbridge.__all__ if not hasattr(taskbridge, name)]
    assert missing == []


def test_every_public_member_is_exported() -> None:
    """Every public, non-module object in the package namespace is listed in __all__."""
    public = {
        name
        for name, value in vars(taskbridge).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public - set(taskbridge.__all__) == set()


def test_every_public_exception_is_exported_under_the_root() -> None:
    """Every exception in errors.py derives from TaskBridgeError and is exported."""
    exceptions = [
        value
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, BaseException) and not name.startswith("_")
    ]
    assert exceptions
    for exception in exceptions:
        assert issubclass(exception, taskbridge.TaskBridgeError), exception
        assert getattr(taskbridge, exception.__name__) is exception


def test_errors_are_also_their_builtin_kind() -> None:
    """Errors that are semantically built-in errors can be caught as those."""
    assert issubclass(taskbridge.ArgumentsNotSerializable, TypeError)
    assert issubclass(taskbridge.InvalidTaskOptions, ValueError)
    assert issubclass(taskbridge.DuplicateTaskName, ValueError)
    assert issubclass(taskbridge.TaskNotRegistered, LookupError)
    assert issubclass(taskbridge.ResultNotFound, LookupError)
    assert issubclass(taskbridge.BackendNotFound, taskbridge.ConfigurationError)
    assert issubclass(taskbridge.UnsupportedFeature, taskbridge.ConfigurationError)


def test_lookups_of_unknown_names_are_not_enqueue_errors() -> None:
    """A task or schedule name nobody registered is a LookupError, never a (transient)
    EnqueueError."""
    for error in (taskbridge.TaskNotRegistered, taskbridge.ScheduleNotFound):
        assert issubclass(error, LookupError)
        assert not issubclass(error, taskbridge.EnqueueError)


def test_the_error_tree_names_every_exception() -> None:
    """errors.py's docstring draws every exception it defines."""
    tree = errors.__doc__ or ""
    defined = [name for name, value in vars(errors).items()
               if inspect.isclass(value) and issubclass(value, BaseException)]
    assert [name for name in defined if f" {name} " not in tree.replace("\n", " \n")] == []


def test_plugin_interface_all_is_sorted_and_importable() -> None:
    """taskbridge.plugin.__all__ is sorted, without repeats, and every name in it resolves."""
    assert plugin.__all__ == sorted(plugin.__all__)
    assert len(set(plugin.__all__)) == len(plugin.__all__)
    assert [name for name in plugin.__all__ if getattr(plugin, name, None) is None] == []


def test_every_public_member_of_the_plugin_interface_is_exported() -> None:
    """Every public, non-module object in taskbridge.plugin is listed in its __all__."""
    public = {
        name
        for name, value in vars(plugin).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
        and name not in {"annotations", "TYPE_CHECKING", "Any"}
    }
    assert public - set(plugin.__all__) == set()


def test_testing_kit_all_is_sorted_and_importable() -> None:
    """taskbridge.testing.__all__ is sorted, and every name in it loads from its module."""
    import taskbridge.testing as testing

    assert testing.__all__ == sorted(testing.__all__)
    assert [name for name in testing.__all__ if getattr(testing, name, None) is None] == []
