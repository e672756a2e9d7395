#!/usr/bin/env bash
# Set up, then run the whole test suite: lint, types, the import layering, then pytest (the
# core, the stores, the CLI, every distribution, and the conformance suite against every
# installed backend with real workers), then each distribution's own test.sh, for suites that
# must run apart (the Django adapter's, under pytest-django, on two Django versions).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/mypy
for dist in backends/*/ contrib/*/; do
  [ -f "$dist/pyproject.toml" ] && (cd "$dist" && ../../.venv/bin/mypy src)
done
.venv/bin/python scripts/lint_imports.py
.venv/bin/python -m pytest "$@"
for dist in backends/*/ contrib/*/; do
  if [ -f "$dist/test.sh" ]; then bash "$dist/test.sh"; fi
done
