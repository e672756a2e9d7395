"""``TASKBRIDGE_*`` keys of ``app.config``: the core's settings, and the adapter's own."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from taskbridge import ConfigurationError, Settings

PREFIX = "TASKBRIDGE_"
#: Who may use the dashboard: a callable taking no arguments, called in the request.
AUTHORIZE = "TASKBRIDGE_DASHBOARD_AUTHORIZE"
#: ``False`` turns off the JSON problem responses for taskbridge errors raised in views.
JSON_ERRORS = "TASKBRIDGE_JSON_ERRORS"
ADAPTER_KEYS = frozenset({AUTHORIZE, JSON_ERRORS})


def setting_keys() -> dict[str, str]:
    """``TASKBRIDGE_<NAME>`` for every field of :class:`taskbridge.Settings`, to its name."""
    return {f"{PREFIX}{field.name.upper()}": field.name for field in attrs.fields(Settings)}


def settings_from_config(config: Mapping[str, Any]) -> Settings:
    """The bridge's settings: ``TASKBRIDGE_*`` keys over the environment over the defaults.

    A ``TASKBRIDGE_*`` key that is neither a setting nor the adapter's own is a mistake (a
    typo would otherwise be ignored in silence), so it is refused naming the known keys.
    """
    keys = setting_keys()
    framework: dict[str, Any] = {}
    for key, value in config.items():
        if not key.startswith(PREFIX) or key in ADAPTER_KEYS:
            continue
        if key not in keys:
            raise ConfigurationError(
                f"app.config[{key!r}] is not a taskbridge setting; the known keys are "
                f"{', '.join(sorted([*keys, *ADAPTER_KEYS]))}"
            )
        framework[keys[key]] = value
    try:
        return Settings.resolve(framework=framework)
    except (ConfigurationError, TypeError, ValueError) as exc:
        raise ConfigurationError(f"taskbridge settings in app.config: {exc}") from exc


def authorizer(config: Mapping[str, Any]) -> Callable[[], object] | None:
    """``TASKBRIDGE_DASHBOARD_AUTHORIZE``, checked: a callable, or unset."""
    authorize = config.get(AUTHORIZE)
    if authorize is not None and not callable(authorize):
        raise ConfigurationError(
            f"app.config[{AUTHORIZE!r}] must be a callable taking no arguments that returns "
            f"whether the current request may use the dashboard, got {authorize!r}"
        )
    return authorize
