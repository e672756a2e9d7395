"""Retry policies: how many attempts a task gets and how long it waits between them."""

from __future__ import annotations

import math
import random

import attrs

from taskbridge._errors import InvalidTaskOptions, Retry


def _exception_types(
    value: type[BaseException] | tuple[type[BaseException], ...],
) -> tuple[type[BaseException], ...]:
    types = value if isinstance(value, tuple) else (value,)
    for kind in types:
        if not (isinstance(kind, type) and issubclass(kind, BaseException)):
            raise InvalidTaskOptions(
                f"retry_on/dont_retry_on: {kind!r} is not an exception class; "
                "pass exception types, e.g. retry_on=(ConnectionError,)"
            )
    return types


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    # `not value >= 0` also refuses NaN, which would poison every delay computed from it.
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise InvalidTaskOptions(
            f"RetryPolicy.{attribute.name} must be a number >= 0, got {value!r}"
        )


@attrs.frozen
class RetryPolicy:
    """How failures are retried; the same policy gives the same schedule on every backend.

    The delay before attempt ``n + 1`` is ``min(backoff * factor ** (n - 1), max_backoff)``,
    drawn uniformly from ``[0, that]`` when ``jitter`` is true ("full jitter").
    """

    max_attempts: int = attrs.field(default=1)
    backoff: float = attrs.field(default=1.0, validator=_positive)
    factor: float = attrs.field(default=2.0, validator=_positive)
    max_backoff: float = attrs.field(default=3600.0, validator=_positive)
    jitter: bool = False
    retry_on: tuple[type[BaseException], ...] = attrs.field(
        default=(Exception,), converter=_exception_types
    )
    dont_retry_on: tuple[type[BaseException], ...] = attrs.field(
        default=(), converter=_exception_types
    )

    @max_attempts.validator
    def _check_attempts(self, attribute: attrs.Attribute[int], value: int) -> None:
        if type(value) is not int or value < 1:
            raise InvalidTaskOptions(
                f"RetryPolicy.max_attempts must be an int >= 1, got {value!r}"
            )

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based) before the next."""
        try:
            growth = self.backoff * self.factor ** (attempt - 1)
        except OverflowError:  # a long run of attempts: the exponential left float range
            growth = math.inf if self.backoff else 0.0
        ceiling = min(growth, self.max_backoff)
        if self.jitter:
            return (rng or random).uniform(0.0, ceiling)
        return ceiling

    def should_retry(self, error: BaseException, attempt: int) -> bool:
        """Whether failed attempt ``attempt`` that raised ``error`` gets another one."""
        if attempt >= self.max_attempts:
            return False
        if isinstance(error, Retry):
            return True
        if isinstance(error, self.dont_retry_on):
            return False
        return isinstance(error, self.retry_on)


NO_RETRY = RetryPolicy()
