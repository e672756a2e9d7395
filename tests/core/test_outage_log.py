"""A loop retrying through an outage logs it once, not once a retry (issue 9 item 15)."""

from __future__ import annotations

import logging

import pytest

from taskbridge._outage import OutageLog


def fail(log: OutageLog, times: int) -> None:
    for n in range(times):
        try:
            raise ConnectionError(f"refused {n}")
        except ConnectionError as exc:
            log.failed(exc)


def test_an_outage_logs_its_first_failure_in_full_then_its_recovery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Fifty failed rounds within the interval: one traceback, then one 'recovered' line."""
    log = OutageLog("housekeeping", every=3600.0)
    with caplog.at_level(logging.WARNING, logger="taskbridge.worker"):
        fail(log, 50)
        log.succeeded()
        log.succeeded()
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2, messages
    assert messages[0] == "housekeeping failed; retrying until it works"
    assert caplog.records[0].exc_info is not None
    assert messages[1].startswith("housekeeping recovered after ")
    assert messages[1].endswith("(50 failed tries)")


def test_a_long_outage_says_it_is_still_failing_once_an_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Past the interval, one line without a traceback names the error and the tries so far."""
    log = OutageLog("the scheduler loop", every=0.0)
    with caplog.at_level(logging.WARNING, logger="taskbridge.worker"):
        fail(log, 3)
    still = [r for r in caplog.records if "still failing" in r.getMessage()]
    assert len(still) == 2
    assert all(r.exc_info is None for r in still)
    assert "(3 tries): ConnectionError: refused 2" in still[-1].getMessage()
