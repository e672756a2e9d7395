"""Configuration: the backend URL, its parsing, and the settings that shape a bridge."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import attrs

from taskbridge._errors import ConfigurationError, InvalidTaskOptions

DEFAULT_URL = "huey+sqlite:///taskbridge.db"
ENV_URL = "TASKBRIDGE_URL"
#: Overrides the heartbeat default, e.g. a short one for tests of crash recovery.
ENV_HEARTBEAT = "TASKBRIDGE_HEARTBEAT_INTERVAL"
#: The environment variables of the numeric settings (CONTRACT §13), by setting.
ENV_NUMBERS = {
    "heartbeat_interval": ENV_HEARTBEAT,
    "result_ttl": "TASKBRIDGE_RESULT_TTL",
    "failed_ttl": "TASKBRIDGE_FAILED_TTL",
    "max_payload": "TASKBRIDGE_MAX_PAYLOAD",
}
#: The default ``max_payload``: 1 MiB of JSON.
DEFAULT_MAX_PAYLOAD = 1024 * 1024

_ENGINE = re.compile(r"^[a-z][a-z0-9_]*$")
_QUEUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_NAMESPACE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
#: The namespace of every engine's keys and queue names when the URL names none.
DEFAULT_NAMESPACE = "taskbridge"


@attrs.frozen
class BackendURL:
    """A parsed ``engine+transport://...`` URL.

    ``transport_url`` is the URL with the engine prefix removed (``redis://host:6379/0``), the
    form the engine's own client understands; ``options`` are the query parameters.
    """

    raw: str
    engine: str
    transport: str | None
    transport_url: str
    options: dict[str, str] = attrs.field(factory=dict)

    @classmethod
    def parse(cls, url: str) -> BackendURL:
        if not isinstance(url, str) or "://" not in url:
            shown = redact(url) if isinstance(url, str) else url
            raise ConfigurationError(
                f"backend URL {shown!r} is malformed; expected ENGINE+TRANSPORT://..., "
                "e.g. 'huey+sqlite:///taskbridge.db' or 'rq+redis://localhost:6379/0'"
            )
        scheme, rest = url.split("://", 1)
        engine, plus, transport = scheme.partition("+")
        if not _ENGINE.fullmatch(engine) or (plus and not _ENGINE.fullmatch(transport)):
            raise ConfigurationError(
                f"backend URL {redact(url)!r}: scheme {scheme!r} is not ENGINE or ENGINE+TRANSPORT "
                "(lowercase letters, digits and underscores)"
            )
        try:
            parts = urlsplit(f"{transport or engine}://{rest}")
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as exc:
            raise ConfigurationError(
                f"backend URL {redact(url)!r} is malformed: {exc}"
            ) from exc
        options = dict(parse_qsl(parts.query, keep_blank_values=True))
        # Rebuilt by hand: geturl() drops an empty netloc, turning sqlite:////abs/x.db into
        # sqlite://abs/x.db (a host) and sqlite:///x.db into sqlite:/x.db.
        transport_url = f"{transport}://{parts.netloc}{parts.path}" if transport else ""
        return cls(url, engine, transport or None, transport_url, options)

    def redacted(self) -> str:
        """The URL with any password replaced, for logs and error messages."""
        return redact(self.raw)

    @property
    def namespace(self) -> str:
        """``?namespace=``: prefixes the store's keys and the engine's queue names, so several
        applications (or test runs) share one server safely."""
        namespace = self.options.get("namespace", DEFAULT_NAMESPACE)
        if not _NAMESPACE.fullmatch(namespace):
            raise ConfigurationError(
                f"{self.redacted()}: namespace {namespace!r} is invalid; use 1-64 letters, "
                "digits, '_', '.' or '-', not starting with '.' or '-'"
            )
        return namespace


def redact(url: str) -> str:
    """``url`` with every ``user:password@`` password replaced by ``***``."""
    return re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", url)


def check_queue(name: object) -> str:
    """Validate a queue name: letters, digits, ``_ . -``, at most 100 characters."""
    if not isinstance(name, str) or not _QUEUE.fullmatch(name):
        raise InvalidTaskOptions(
            f"queue name {name!r} is invalid; use 1-100 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return name


def _setting_queue(setting: str, name: object) -> str:
    try:
        return check_queue(name)
    except InvalidTaskOptions as exc:
        raise ConfigurationError(f"{setting}: {exc}") from None


def _routes(value: Mapping[str, str] | None) -> dict[str, str]:
    routes = dict(value or {})
    for pattern, queue in routes.items():
        if not isinstance(pattern, str):
            raise ConfigurationError(f"routes: pattern {pattern!r} must be a str")
        _setting_queue(f"routes[{pattern!r}]", queue)
    return routes


def _env_number(setting: str, variable: str, text: str) -> float | int:
    try:
        return int(text) if setting == "max_payload" else float(text)
    except ValueError:
        unit = "a whole number of bytes" if setting == "max_payload" else "a number of seconds"
        raise ConfigurationError(f"{variable}={text!r} is not {unit}") from None


def _imports(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [v for v in re.split(r"[,\s]+", value) if v]
    return tuple(value)


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    # `not value > 0` also refuses NaN; a bool is not a duration.
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigurationError(f"{attribute.name} must be a positive number, got {value!r}")


def _positive_or_none(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        _positive(instance, attribute, value)


def _byte_count(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(
            f"{attribute.name} must be a positive whole number of bytes, got {value!r}"
        )


@attrs.frozen
class Settings:
    """Everything that configures a bridge besides code."""

    url: str = DEFAULT_URL
    imports: tuple[str, ...] = attrs.field(default=(), converter=_imports)
    default_queue: str = attrs.field(
        default="default", validator=lambda i, a, v: _setting_queue(a.name, v)
    )
    #: Seconds a finished execution's record is kept (workers purge older ones).
    result_ttl: float = attrs.field(default=7 * 24 * 3600.0, validator=_positive)
    #: Seconds a FAILED execution's record is kept; ``None``: ``result_ttl``.
    failed_ttl: float | None = attrs.field(default=None, validator=_positive_or_none)
    #: Most bytes of JSON a call's arguments (args and kwargs together), or a result, may take.
    max_payload: int = attrs.field(default=DEFAULT_MAX_PAYLOAD, validator=_byte_count)
    #: Seconds a SUCCEEDED execution keeps its idempotency key.
    idempotency_ttl: float = attrs.field(default=24 * 3600.0, validator=_positive)
    #: Task-name glob patterns to queues, e.g. ``{"reports.*": "slow"}``; first match wins.
    routes: dict[str, str] = attrs.field(factory=dict, converter=_routes)
    #: Seconds between a running task's heartbeats; silence for twice this means the worker died.
    heartbeat_interval: float = attrs.field(default=5.0, validator=_positive)
    #: Seconds after its commit that a record whose message was never sent (its producer died
    #: between commit and send) is sent by a worker instead (stores with ``DeferredPublish``).
    unsent_grace: float = attrs.field(default=30.0, validator=_positive)

    @classmethod
    def resolve(
        cls, url: str | None = None, framework: Mapping[str, Any] | None = None, **overrides: Any
    ) -> Settings:
        """Apply the contract's precedence: explicit, framework settings, environment, default."""
        values: dict[str, Any] = {}
        env_url = os.environ.get(ENV_URL)
        if env_url:
            values["url"] = env_url
        for setting, variable in ENV_NUMBERS.items():
            text = os.environ.get(variable)
            if text:
                values[setting] = _env_number(setting, variable, text)
        for key, value in (framework or {}).items():
            values[key.lower()] = value
        values.update({k: v for k, v in overrides.items() if v is not None})
        if url is not None:
            values["url"] = url
        fields = {f.name for f in attrs.fields(cls)}
        unknown = sorted(set(values) - fields)
        if unknown:
            raise ConfigurationError(
                f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(fields))}"
            )
        return cls(**values)
