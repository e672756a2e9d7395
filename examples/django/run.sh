#!/usr/bin/env bash
# The example in one command: migrate, an 'admin' user (password 'admin'), a worker and a
# scheduler in the background, and the web server at http://127.0.0.1:8000/ (Ctrl-C stops all).
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python}"
"$PYTHON" manage.py migrate --verbosity 0
DJANGO_SUPERUSER_PASSWORD=admin "$PYTHON" manage.py createsuperuser --noinput \
  --username admin --email admin@example.org 2>/dev/null || true
"$PYTHON" manage.py taskbridge worker -q default -q reports -c 2 &
worker=$!
"$PYTHON" manage.py taskbridge scheduler &
scheduler=$!
trap 'kill $worker $scheduler 2>/dev/null; wait' EXIT
"$PYTHON" manage.py runserver 127.0.0.1:8000
