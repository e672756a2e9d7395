#!/usr/bin/env bash
# The Django adapter's own test run (scripts/test.sh runs every distribution's test.sh): its
# tests need Django set up by pytest-django with their own settings, so the repository-wide run
# leaves them out (conftest.py); here on this machine's Django (5.2 LTS, Python 3.11), then on
# Django 6 and Python 3.12.
set -euo pipefail
cd "$(dirname "$0")"
../../.venv/bin/python -m pytest "$@"
bash test_django6.sh
