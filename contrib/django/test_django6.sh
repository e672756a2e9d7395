#!/usr/bin/env bash
# The Django adapter's tests on Django 6.x and Python 3.12 (Django 6 does not install on 3.11),
# in a second, small virtualenv (.venv-django6) holding only what those tests need. The store
# contract suite, which the main run already covers on the same store code, is left out here to
# keep this run short.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON312="${PYTHON312:-}"
if [ -z "$PYTHON312" ]; then
  # pyenv's own install first: a pyenv shim named python3.12 may exist and refuse to run.
  for candidate in $(ls -d "$HOME"/.pyenv/versions/3.12.*/bin/python 2>/dev/null | sort -V -r) \
      "$(command -v python3.12 || true)"; do
    if [ -n "$candidate" ] && "$candidate" -c "import sys; assert sys.version_info[:2] == (3, 12)" \
        2>/dev/null; then
      PYTHON312="$candidate"
      break
    fi
  done
fi
if [ -z "$PYTHON312" ]; then
  echo "test_django6: no Python 3.12 found (set PYTHON312=/path/to/python3.12)" >&2
  exit 1
fi
VENV=.venv-django6
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON312" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e . -e backends/huey -e backends/rq -e backends/celery -e "contrib/django[test]" \
  "django>=6,<7" "pytest>=8.3,<10" "pytest-timeout>=2.3" "hypothesis>=6.100" "redis>=5,<9"
"$VENV/bin/python" -c "import django, sys; print('test_django6: Django', django.get_version(), 'on Python', sys.version.split()[0])"
cd contrib/django
exec ../../"$VENV"/bin/python -m pytest --ignore=tests/test_store_contract.py "$@"
