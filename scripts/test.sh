#!/usr/bin/env bash
# Set up, then run the whole test suite: core, stores, CLI, every backend, and the conformance
# suite against every installed backend with real workers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check src backends tests benchmarks examples
.venv/bin/mypy
for dist in backends/*/; do
  (cd "$dist" && ../../.venv/bin/mypy src)
done
exec .venv/bin/python -m pytest "$@"
