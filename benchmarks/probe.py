"""Physical limits and call counts: raw Redis LPUSH timings, and round trips per enqueue.

Round trips are counted by wrapping redis-py's ``send_packed_command`` while a few enqueues
run (a pipeline sends once, so one call is one round trip); commands per enqueue come from the
server's own ``INFO commandstats``. Counting runs separately from every timed sample.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

from benchmarks.measure import interleave, per_task_micros, summarize


def raw_redis(redis_url: str, *, rounds: int, ops: int, pipeline_batch: int) -> dict[str, Any]:
    """One LPUSH per round trip vs pipelined LPUSHes, in µs per operation."""
    from redis import Redis

    client = Redis.from_url(redis_url)
    key = "bench:raw-lpush"
    payload = b"x" * 200

    def single(n: int) -> None:
        for _ in range(n):
            client.lpush(key, payload)

    def pipelined(n: int) -> None:
        for start in range(0, n, pipeline_batch):
            pipe = client.pipeline(transaction=False)
            for _ in range(min(pipeline_batch, n - start)):
                pipe.lpush(key, payload)
            pipe.execute()

    single(50)
    samples = interleave(rounds, {
        "lpush": per_task_micros(single, ops),
        "pipelined": per_task_micros(pipelined, ops * 5),
    })
    client.delete(key)
    client.close()
    return {
        "lpush_round_trip_us": summarize(samples["lpush"]),
        "pipelined_lpush_us": summarize(samples["pipelined"]),
        "payload_bytes": len(payload),
        "pipeline_batch": pipeline_batch,
    }


@contextlib.contextmanager
def counting_round_trips() -> Iterator[list[int]]:
    """Count redis-py socket writes (round trips) made inside the block, in this process."""
    from redis.connection import AbstractConnection

    count = [0]
    original: Any = AbstractConnection.send_packed_command

    def counted(self: Any, command: Any, check_health: bool = True) -> None:
        count[0] += 1
        original(self, command, check_health)

    AbstractConnection.send_packed_command = counted  # type: ignore[method-assign]
    try:
        yield count
    finally:
        AbstractConnection.send_packed_command = original  # type: ignore[method-assign]


def server_totals(redis_url: str) -> tuple[int, int]:
    """Commands the server has run so far and the CPU µs it spent on them (INFO excluded)."""
    from redis import Redis

    with Redis.from_url(redis_url) as client:
        stats = client.info("commandstats")
    counted = [v for k, v in stats.items() if k != "cmdstat_info"]
    return sum(int(v["calls"]) for v in counted), sum(int(v["usec"]) for v in counted)


def calls_per_enqueue(enqueue: Callable[[int], None], redis_url: str,
                      n: int = 200) -> dict[str, float]:
    """Per single enqueue, averaged over ``n``: round trips, server commands, server CPU µs
    (Redis's own commandstats) and producer CPU µs (``process_time``). CPU times do not
    count waiting, so they hold up when other processes load the machine."""
    for i in range(5):
        enqueue(-1 - i)  # connect and load scripts first; those are one-off costs
    commands_before, server_before = server_totals(redis_url)
    with counting_round_trips() as count:
        for i in range(n):
            enqueue(i)
    round_trips = count[0]
    cpu_started = time.process_time()
    for i in range(n, 2 * n):
        enqueue(i)
    client_cpu = time.process_time() - cpu_started
    commands_after, server_after = server_totals(redis_url)
    return {
        "round_trips": round_trips / n,
        "commands": (commands_after - commands_before) / (2 * n),
        "server_cpu_us": (server_after - server_before) / (2 * n),
        "client_cpu_us": client_cpu / n * 1e6,
    }
