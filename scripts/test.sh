#!/usr/bin/env bash
# Set up, then run the whole test suite: lint, types, the import layering, then pytest (the
# core, the stores, the CLI, every distribution, and the conformance suite against every
# installed backend with real workers), then the Django adapter's suite under pytest-django,
# on Django 5.2 here and on Django 6 with Python 3.12 (scripts/test_django6.sh).
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
# The Django adapter's tests need Django set up by pytest-django with their own settings, so
# they run apart (the main run leaves them out: contrib/django/conftest.py), and again on
# Django 6 and Python 3.12.
(cd contrib/django && ../../.venv/bin/python -m pytest)
bash scripts/test_django6.sh
