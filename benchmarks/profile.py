"""Profile one side of one measurement with pyinstrument, to see where a missed target goes.

``python -m benchmarks.profile --backend rq --what single --side taskbridge`` prints the call
tree of N single enqueues (``single``, ``keyed``, ``many``) or N round trips (``roundtrip``,
workers started for it). ``--what drain`` instead records the worker draining N pre-filled
tasks with py-spy (all threads and child processes) and prints the functions that hold the
most samples, inclusive. Needs ``pip install -r benchmarks/requirements.txt``.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks import stamps
from benchmarks.engines import BACKENDS, Context
from benchmarks.phases import PREFILL_CHUNK
from benchmarks.sides import Side, chunks
from benchmarks.workers import WorkerProcess, python_env, wait_for


def profile_drain(side: Side, workdir: Path, n: int, top: int = 60) -> str:
    """py-spy's view of a worker draining ``n`` tasks: inclusive samples per function."""
    for chunk in chunks(0, n, PREFILL_CHUNK):
        side.enqueue_bulk(chunk.start, len(chunk))
    raw = workdir / "drain.txt"
    stamp_file = workdir / "stamps.bin"
    env = python_env({**side.worker_env(), stamps.ENV: str(stamp_file)})
    with WorkerProcess(side.worker_argv(1), env, workdir / "worker.log") as worker:
        spy = subprocess.Popen(
            [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(worker.pid),
             "--format", "raw", "-o", str(raw), "-r", "250", "--subprocesses"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: stamps.count(str(stamp_file)) >= n, timeout=600,
                 what=f"{n} completions", worker=worker, interval=0.05)
        spy.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
        spy.wait(60)
    inclusive: collections.Counter[str] = collections.Counter()
    leaf: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        total += int(count)
        leaf[frames[-1]] += int(count)
        for frame in set(frames[1:]):  # frames[0] names the process
            inclusive[frame] += int(count)
    out = [f"{total} busy samples (idle threads left out); inclusive:"]
    out += [f"{c / total:6.1%}  {f}" for f, c in inclusive.most_common(top)]
    out += ["self (leaf):"] + [f"{c / total:6.1%}  {f}" for f, c in leaf.most_common(15)]
    return "\n".join(out)

def main(argv: list[str] | None = None) -> int:
    from pyinstrument import Profiler

    from taskbridge.testing.redis_server import start_private_server, stop_private_server

    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    parser.add_argument("--backend", choices=sorted(BACKENDS), required=True)
    parser.add_argument("--what", choices=["single", "keyed", "many", "roundtrip", "drain"],
                        default="single")
    parser.add_argument("--side", choices=["taskbridge", "native"], default="taskbridge")
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--interval", type=float, default=0.0001)
    args = parser.parse_args(argv)
    spec = BACKENDS[args.backend]
    redis_url = start_private_server()
    workdir = Path(tempfile.mkdtemp(prefix="taskbridge-profile-"))
    context = Context(redis_url=redis_url, workdir=workdir, redis_private=True)
    tb, native = spec.open(context, "profile")
    side = tb if args.side == "taskbridge" else native
    try:
        if args.what == "drain":
            print(profile_drain(side, workdir, args.n))
            return 0
        if args.what == "roundtrip":
            with WorkerProcess(side.worker_argv(1), python_env(side.worker_env()),
                               workdir / "worker.log"):
                side.round_trip(-1, 60)
                profiler = Profiler(interval=args.interval)
                with profiler:
                    for i in range(args.n):
                        side.round_trip(i, 60)
        else:
            for i in range(20):
                side.enqueue(-1 - i)
            profiler = Profiler(interval=args.interval)
            with profiler:
                if args.what == "many":
                    side.enqueue_bulk(0, args.n)
                elif args.what == "keyed":
                    for i in range(args.n):
                        tb.enqueue_keyed(i)
                else:
                    for i in range(args.n):
                        side.enqueue(i)
        print(profiler.output_text(unicode=True, color=False, show_all=False))
    finally:
        tb.close()
        native.close()
        stop_private_server(redis_url)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
