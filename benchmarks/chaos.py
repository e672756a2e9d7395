"""``python -m benchmarks --chaos`` (or ``python -m benchmarks.chaos``): the large chaos soak.

20,000 tasks per engine that succeed, retry and fail while a worker is SIGKILLed every few
seconds and Redis restarts once (where Redis is the broker or the store), with the soak of
``taskbridge.testing.chaos``; prints one line per engine and writes ``chaos.md``. Each engine
gets a private ``redis-server`` with an fsync-always append-only file.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from taskbridge.testing.chaos import ChaosReport, soak
from taskbridge.testing.redis_server import (
    bring_up_private_server,
    start_private_server,
    stop_private_server,
    take_down_private_server,
)

ENGINES = ("huey+sqlite", "huey+redis", "rq+redis", "celery+redis")
RESULTS = Path(__file__).parent / "results"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.chaos", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default=",".join(ENGINES),
                        help=f"comma-separated, from {', '.join(ENGINES)} (default: all)")
    parser.add_argument("--tasks", type=int, default=20_000,
                        help="tasks per engine (RQ's fork-per-job workers: a fifth of it)")
    parser.add_argument("--duration", type=float, default=150.0,
                        help="seconds of enqueueing and killing (default 150)")
    parser.add_argument("--kill-every", type=float, default=5.0, help="seconds between kills")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--settle", type=float, default=60.0,
                        help="give up once no record has ended final for this long")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = sorted(set(args.engines) - set(ENGINES))
    if unknown:
        parser.error(f"unknown engine(s) {', '.join(unknown)}; choose from {', '.join(ENGINES)}")
    return args


def run_engine(engine: str, args: argparse.Namespace, workdir: Path) -> ChaosReport:
    if engine == "huey+sqlite":
        return soak(f"huey+sqlite:///{workdir / 'chaos.db'}", workdir=workdir, tasks=args.tasks,
                    workers=args.workers, concurrency=args.concurrency, duration=args.duration,
                    kill_every=args.kill_every, settle=args.settle)
    tasks = args.tasks // 5 if engine == "rq+redis" else args.tasks
    redis_url = start_private_server(appendonly=True)
    try:
        def restart() -> None:
            take_down_private_server(redis_url)
            time.sleep(3.0)
            bring_up_private_server(redis_url)

        url = f"{engine}://{urlsplit(redis_url).netloc}/0?namespace=chaos"
        return soak(url, workdir=workdir, tasks=tasks, workers=args.workers,
                    concurrency=args.concurrency, duration=args.duration,
                    kill_every=args.kill_every, restart_redis=restart, settle=args.settle)
    finally:
        stop_private_server(redis_url)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    lines = ["| engine | enqueued | SIGKILLs | Redis restarts | succeeded | failed | waiting or "
             "running after settling | duplicate runs | settled in |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    clean = True
    for engine in args.engines:
        workdir = Path(tempfile.mkdtemp(prefix=f"taskbridge-chaos-{engine.replace('+', '-')}-"))
        report = run_engine(engine, args, workdir)
        print(f"{engine}: {report.summary()}", flush=True)
        clean = clean and report.clean
        lines.append(
            f"| {engine} | {report.enqueued} | {report.kills} | {report.redis_restarts} | "
            f"{report.by_status.get('SUCCEEDED', 0)} | {report.by_status.get('FAILED', 0)} | "
            f"{len(report.unsettled)} | {report.duplicates} | {report.settle_seconds:.1f} s |"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "chaos.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
