#!/usr/bin/env bash
# Set up, then run the demo on the embedded default (Huey on SQLite, a real worker, no server).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python examples/demo.py "$@"
