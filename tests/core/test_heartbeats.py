"""The heartbeat thread: every registered attempt beats on its own schedule, however the
thread happened to be sleeping when the attempt was added."""

from __future__ import annotations

import threading
import time

from taskbridge._heartbeat import Heartbeats
from taskbridge.testing.polling import wait_for


class Counter:
    def __init__(self) -> None:
        self.beats = 0
        self.lock = threading.Lock()

    def beat(self) -> bool:
        with self.lock:
            self.beats += 1
        return False


def test_an_attempt_added_while_the_thread_idles_beats_on_time() -> None:
    """With nothing to beat the thread sleeps 30 s; an attempt added then must wake it."""
    beats = Heartbeats()
    first = Counter()
    token = beats.add(first.beat, 0.02, lambda: None)
    wait_for(lambda: first.beats >= 2, timeout=5, what="the first attempt's beats")
    beats.remove(token)
    wait_for(lambda: beats._wakes_at - time.monotonic() > 20, timeout=5,
             what="the idle thread's long sleep (nothing to beat)")
    second = Counter()
    beats.add(second.beat, 0.02, lambda: None)
    wait_for(lambda: second.beats >= 2, timeout=5, what="the second attempt's beats")


def test_a_shorter_interval_added_later_is_not_held_back_by_a_longer_one() -> None:
    """The thread sleeps until the earliest beat due; an attempt due sooner wakes it."""
    beats = Heartbeats()
    slow, fast = Counter(), Counter()
    beats.add(slow.beat, 30.0, lambda: None)
    wait_for(lambda: beats._wakes_at < float("inf"), timeout=5, what="the thread to sleep")
    beats.add(fast.beat, 0.02, lambda: None)
    wait_for(lambda: fast.beats >= 3, timeout=5, what="the fast attempt's beats")
    assert slow.beats == 0


def test_many_short_attempts_do_not_wake_the_thread_each_time() -> None:
    """Adding attempts due no sooner than the thread's next wake-up leaves it asleep: a worker
    running short tasks does not switch to the heartbeat thread for every one."""
    beats = Heartbeats()
    keeper = Counter()
    beats.add(keeper.beat, 5.0, lambda: None)
    wait_for(lambda: beats._wakes_at < float("inf"), timeout=5, what="the thread to sleep")
    wakes_at = beats._wakes_at
    for _ in range(100):
        beats.remove(beats.add(Counter().beat, 5.0, lambda: None))
    assert beats._wakes_at == wakes_at  # never woken: it would have gone back to sleep anew
