"""Native RQ: the no-op job function, and a worker entry point run with ``python -m``."""

from __future__ import annotations

import argparse

from benchmarks import stamps


def noop(i: int) -> int:
    """Do nothing but leave a completion stamp; return the argument."""
    stamps.record()
    return i


def main() -> None:
    from redis import Redis
    from rq import Queue, SimpleWorker, Worker

    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--queue", required=True)
    parser.add_argument("--worker-class", choices=["fork", "simple"], default="fork")
    parser.add_argument("--with-scheduler", action="store_true")
    args = parser.parse_args()
    connection = Redis.from_url(args.url)
    worker_class = SimpleWorker if args.worker_class == "simple" else Worker
    worker = worker_class([Queue(args.queue, connection=connection)], connection=connection)
    worker.work(with_scheduler=args.with_scheduler, logging_level="WARNING")


if __name__ == "__main__":
    main()
