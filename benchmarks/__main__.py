"""``python -m benchmarks``: run the side-by-side benchmarks (see ``benchmarks/run.py``)."""

from benchmarks.run import main

raise SystemExit(main())
