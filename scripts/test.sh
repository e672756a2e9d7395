#!/usr/bin/env bash
# Set up, then run the whole test suite: lint, types, the import layering, then pytest (the
# core, the stores, the CLI, every distribution, and the conformance suite against every
# installed backend with real workers), then each adapter's own suite under contrib/ (its own
# pytest configuration: Django's tests run under pytest-django), and the Django adapter's tests
# again on Django 6 and Python 3.12 (scripts/test_django6.sh).
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
for dist in contrib/*/; do
  if [ -f "$dist/pyproject.toml" ] && [ -d "$dist/tests" ]; then
    (cd "$dist" && ../../.venv/bin/python -m pytest)
  fi
done
bash scripts/test_django6.sh
