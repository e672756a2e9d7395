#!/usr/bin/env bash
# Create .venv (if needed) and install every taskbridge distribution editable, with test tools.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
packages=(-e ".[dev]")
for dist in backends/*/ contrib/*/; do
  [ -f "$dist/pyproject.toml" ] && packages+=(-e "$dist")
done
.venv/bin/python -m pip install --quiet "${packages[@]}"
