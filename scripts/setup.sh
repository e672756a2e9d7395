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
  [ -f "$dist/pyproject.toml" ] || continue
  # A distribution's own test needs (an adapter's framework extras, a database driver).
  if grep -q '^test = \[' "$dist/pyproject.toml"; then
    packages+=(-e "${dist%/}[test]")
  else
    packages+=(-e "$dist")
  fi
done
.venv/bin/python -m pip install --quiet "${packages[@]}"
# The dashboard's browser tests drive Debian's Chromium through Playwright (Playwright's own
# browser download cannot work here). Installed when missing and apt is available.
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
    >/dev/null 2>&1 || echo "setup: could not install chromium; browser tests will be skipped" >&2
fi
