"""Retry policies: the delay schedule, jitter bounds, which failures are retried."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taskbridge import InvalidTaskOptions, Retry, RetryPolicy

amounts = st.floats(min_value=0, max_value=1e6)
factors = st.floats(min_value=0, max_value=10)
attempts = st.integers(min_value=1, max_value=5000)


def expected_ceiling(policy: RetryPolicy, attempt: int) -> float:
    try:
        growth = policy.backoff * policy.factor ** (attempt - 1)
    except OverflowError:  # the exact value is beyond float range: infinite, unless times 0
        growth = math.inf if policy.backoff else 0.0
    return min(growth, policy.max_backoff)


def test_documented_schedule() -> None:
    """backoff=10, factor=2, max_backoff=600 waits 10, 20, 40, ... capped at 600."""
    policy = RetryPolicy(max_attempts=9, backoff=10.0, factor=2.0, max_backoff=600)
    assert [policy.delay(n) for n in range(1, 9)] == [10, 20, 40, 80, 160, 320, 600, 600]


@given(amounts, factors, amounts, attempts)
def test_delay_is_the_capped_exponential(
    backoff: float, factor: float, max_backoff: float, attempt: int
) -> None:
    """Without jitter the delay is min(backoff * factor**(n-1), max_backoff), never an error."""
    policy = RetryPolicy(backoff=backoff, factor=factor, max_backoff=max_backoff)
    delay = policy.delay(attempt)
    assert delay == expected_ceiling(policy, attempt)
    assert 0 <= delay <= max_backoff


@given(amounts, factors, amounts, attempts, st.integers())
def test_jitter_stays_within_zero_and_the_ceiling(
    backoff: float, factor: float, max_backoff: float, attempt: int, seed: int
) -> None:
    """With full jitter the delay is drawn from [0, ceiling]."""
    policy = RetryPolicy(backoff=backoff, factor=factor, max_backoff=max_backoff, jitter=True)
    delay = policy.delay(attempt, random.Random(seed))
    assert 0 <= delay <= expected_ceiling(policy, attempt)


def test_jitter_actually_varies() -> None:
    """Full jitter spreads delays out instead of always using the ceiling."""
    policy = RetryPolicy(backoff=100.0, jitter=True)
    rng = random.Random(1)
    assert len({policy.delay(1, rng) for _ in range(20)}) > 10


def test_huge_attempt_numbers_use_the_cap() -> None:
    """An attempt number whose exponential overflows a float waits max_backoff."""
    policy = RetryPolicy(max_attempts=100_000, backoff=1.0, factor=2.0, max_backoff=60)
    assert policy.delay(5000) == 60
    assert RetryPolicy(backoff=0.0, factor=2.0).delay(5000) == 0


class Transient(ConnectionError):
    pass


class Fatal(Transient):
    pass


@pytest.mark.parametrize(
    ("policy", "error", "attempt", "expected"),
    [
        (RetryPolicy(max_attempts=3), ValueError(), 1, True),
        (RetryPolicy(max_attempts=3), ValueError(), 2, True),
        (RetryPolicy(max_attempts=3), ValueError(), 3, False),
        (RetryPolicy(), ValueError(), 1, False),
        (RetryPolicy(max_attempts=3), KeyboardInterrupt(), 1, False),
        (RetryPolicy(max_attempts=3, retry_on=Transient), Transient(), 1, True),
        (RetryPolicy(max_attempts=3, retry_on=Transient), ValueError(), 1, False),
        (RetryPolicy(max_attempts=3, retry_on=(Transient, KeyError)), KeyError(), 1, True),
        (RetryPolicy(max_attempts=3, dont_retry_on=ValueError), ValueError(), 1, False),
        (RetryPolicy(max_attempts=3, retry_on=Transient, dont_retry_on=Fatal), Fatal(), 1, False),
        (RetryPolicy(max_attempts=3, retry_on=Transient), Retry(delay=1), 1, True),
        (RetryPolicy(max_attempts=3, dont_retry_on=Retry), Retry(), 2, True),
        (RetryPolicy(max_attempts=3), Retry(), 3, False),
        (RetryPolicy(), Retry(), 1, False),
    ],
)
def test_should_retry(
    policy: RetryPolicy, error: BaseException, attempt: int, expected: bool
) -> None:
    """Attempts left, Retry, dont_retry_on and retry_on decide, in that order."""
    assert policy.should_retry(error, attempt) is expected


@pytest.mark.parametrize(
    "options",
    [
        {"max_attempts": 0},
        {"max_attempts": -1},
        {"max_attempts": 2.0},
        {"max_attempts": True},
        {"max_attempts": "3"},
        {"backoff": -1},
        {"backoff": float("nan")},
        {"backoff": "10"},
        {"backoff": True},
        {"factor": -0.5},
        {"factor": None},
        {"max_backoff": -1},
        {"max_backoff": float("nan")},
        {"retry_on": "ValueError"},
        {"retry_on": (ValueError, 3)},
        {"retry_on": ValueError()},
        {"dont_retry_on": (int,)},
    ],
)
def test_bad_policies_are_refused(options: dict[str, object]) -> None:
    """Out-of-range or mistyped policy fields raise InvalidTaskOptions naming the field."""
    with pytest.raises(InvalidTaskOptions) as caught:
        RetryPolicy(**options)  # type: ignore[arg-type]
    field = next(iter(options))
    assert field in str(caught.value) or "retry_on" in str(caught.value)


def test_policies_are_frozen_values() -> None:
    """A policy is an immutable value compared by its fields."""
    policy = RetryPolicy(max_attempts=2)
    assert policy == RetryPolicy(max_attempts=2)
    with pytest.raises(AttributeError):
        policy.max_attempts = 5  # type: ignore[misc]
