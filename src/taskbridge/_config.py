"""Configuration: the backend URL, its parsing, and the settings that shape a bridge."""

from __future__ import annotations

import json
import os
import re
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import attrs

from taskbridge._errors import ConfigurationError, InvalidTaskOptions

DEFAULT_URL = "huey+sqlite:///taskbridge.db"
#: Every setting ``name`` has the environment variable ``TASKBRIDGE_NAME`` (``env_variable``).
ENV_PREFIX = "TASKBRIDGE_"
ENV_URL = "TASKBRIDGE_URL"
#: Overrides the heartbeat default, e.g. a short one for tests of crash recovery.
ENV_HEARTBEAT = "TASKBRIDGE_HEARTBEAT_INTERVAL"
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


def sqlite_path(url: str) -> Path | None:
    """The file an ``sqlite:///relative.db`` / ``sqlite:////absolute.db`` (or
    ``ENGINE+sqlite://...``) URL names, as written; ``None`` for any other URL."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.rpartition("+")[2] != "sqlite":
        return None
    path = rest.split("?", 1)[0]
    if not path.startswith("/") or path == "/" or path[1:].startswith(":memory:"):
        return None
    return Path(path[1:])


def sqlite_files(url: str) -> list[Path]:
    """The absolute paths of the SQLite files ``url`` names: the engine's own
    (``huey+sqlite:///x.db``) and its store's (``?store=sqlite:///y.db``), relative paths
    against the working directory."""
    found = [sqlite_path(url)]
    query = url.partition("://")[2].partition("?")[2]
    found += [sqlite_path(value) for name, value in parse_qsl(query) if name == "store"]
    return [path.absolute() for path in found if path is not None]


def absolute_sqlite_paths(url: str, base: str | os.PathLike[str]) -> str:
    """``url`` with every relative SQLite path in it (the engine's, ``?store=``'s) made
    absolute against ``base``: how a path named by a configuration file is read relative to
    that file's directory."""
    path = sqlite_path(url)
    if path is not None and not path.is_absolute():
        scheme, _, rest = url.partition("://")
        written = rest.split("?", 1)[0][1:]
        url = f"{scheme}:///{Path(base).absolute() / written}{rest[1 + len(written):]}"
    head, sep, query = url.partition("?")
    if not sep:
        return url
    pairs = parse_qsl(query, keep_blank_values=True)
    changed = [(n, absolute_sqlite_paths(v, base) if n == "store" else v) for n, v in pairs]
    return head + sep + urlencode(changed, safe=":/") if changed != pairs else url


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
    #: Seconds a waiting record may go without its message before a worker sends it again:
    #: after its commit, for one never sent (its producer died between commit and send;
    #: stores with ``DeferredPublish``), and past its due time on an empty queue, for one whose
    #: message an engine lost before the attempt started (a crash, a Redis restart).
    unsent_grace: float = attrs.field(default=30.0, validator=_positive)

    @classmethod
    def resolve(
        cls,
        url: str | None = None,
        framework: Mapping[str, Any] | None = None,
        *,
        framework_dir: str | os.PathLike[str] | None = None,
        **overrides: Any,
    ) -> Settings:
        """Apply the contract's precedence: explicit, framework settings, environment
        (:func:`from_environment`), default.

        ``framework_dir`` is the directory of the configuration file ``framework`` comes from:
        a relative SQLite path in its URL is read relative to it.
        """
        values: dict[str, Any] = from_environment()
        for key, value in (framework or {}).items():
            values[key.lower()] = value
        if framework_dir is not None and isinstance(values.get("url"), str) and any(
            key.lower() == "url" for key in framework or {}
        ):
            values["url"] = absolute_sqlite_paths(values["url"], framework_dir)
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


def env_variable(setting: str) -> str:
    """The environment variable of a setting: ``TASKBRIDGE_`` and its name in capitals."""
    return ENV_PREFIX + setting.upper()


def from_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The settings the environment sets, one variable per :class:`Settings` field
    (``TASKBRIDGE_RESULT_TTL=3600``): numbers as numbers, lists comma-separated
    (``TASKBRIDGE_IMPORTS=app.tasks,app.reports``), mappings as JSON objects
    (``TASKBRIDGE_ROUTES='{"reports.*": "slow"}'``). Unset or empty variables set nothing;
    a bad value is a ``ConfigurationError`` naming the variable."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for field in attrs.fields(attrs.resolve_types(Settings)):
        name = env_variable(field.name)
        text = environ.get(name, "").strip()
        if not text:
            continue
        value = _parse_variable(name, text, field.type)
        try:
            Settings(**{field.name: value})
        except ConfigurationError as exc:
            raise ConfigurationError(f"{name}={text!r}: {exc}") from None
        values[field.name] = value
    return values


def _parse_variable(name: str, text: str, kind: Any) -> Any:
    """``text`` read as a value of the annotation ``kind`` (``X | None`` reads as ``X``)."""
    options = [k for k in typing.get_args(kind) if k is not type(None)]
    if typing.get_origin(kind) in (typing.Union, types.UnionType) and len(options) == 1:
        kind = options[0]
    origin = typing.get_origin(kind) or kind
    if origin is str:
        return text
    if origin is bool:
        flag = {"1": True, "true": True, "yes": True, "on": True,
                "0": False, "false": False, "no": False, "off": False}.get(text.lower())
        if flag is None:
            raise ConfigurationError(f"{name}={text!r} is not a flag; use true or false")
        return flag
    if origin in (int, float):
        try:
            return origin(text)
        except ValueError:
            raise ConfigurationError(f"{name}={text!r} is not a number") from None
    if origin in (tuple, list, frozenset, set):
        return tuple(item.strip() for item in text.split(",") if item.strip())
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{name}={text!r} is not JSON ({exc.msg}); write e.g. "
                                 f"{name}='{{\"reports.*\": \"slow\"}}'") from None
    if origin in (dict, Mapping) and not isinstance(value, dict):
        raise ConfigurationError(f"{name}={text!r} must be a JSON object")
    return value
