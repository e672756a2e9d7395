"""``python -m benchmarks``: run the side-by-side benchmarks (see ``benchmarks/run.py``);
``python -m benchmarks --chaos [options]``: the chaos soak instead (``benchmarks/chaos.py``)."""

import sys

if "--chaos" in sys.argv[1:]:
    from benchmarks.chaos import main as chaos

    raise SystemExit(chaos([a for a in sys.argv[1:] if a != "--chaos"]))

from benchmarks.run import main

raise SystemExit(main())
