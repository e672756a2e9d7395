"""Check the layering with import-linter, for every distribution in this repository.

The contracts are written here rather than in a config file because the packages they name are
found by glob (``backends/*/src/*``, ``contrib/*/src/*``): adding a distribution touches no
central file.

- The core imports no plugin and no adapter.
- A private module (``_name``) is imported only from inside its own package: plugins and
  adapters reach the core through ``taskbridge`` and ``taskbridge.plugin`` alone.
- Plugins and adapters do not import the core's command line or its testing kit (a plugin's own
  ``testing`` module, shipped for its users' tests, may use the kit).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def plugin_packages() -> list[str]:
    """The top-level packages of every distribution under backends/ and contrib/."""
    found = []
    for folder in ("backends", "contrib"):
        for package in sorted(ROOT.glob(f"{folder}/*/src/*/__init__.py")):
            found.append(package.parent.name)
    return found


def config(plugins: list[str]) -> str:
    def lines(names: list[str]) -> str:
        return "".join(f"\n    {name}" for name in names)

    testing_ignores = [f"{p}.testing -> taskbridge.testing" for p in plugins]
    return f"""
[importlinter]
root_packages = taskbridge{lines(plugins)}

[importlinter:contract:core]
name = The core imports no plugin and no adapter
type = forbidden
source_modules = taskbridge
forbidden_modules ={lines(plugins)}

[importlinter:contract:private]
name = Private modules are imported only inside their own package
type = private_modules

[importlinter:contract:surface]
name = Plugins and adapters use only taskbridge and taskbridge.plugin
type = forbidden
source_modules ={lines(plugins)}
forbidden_modules =
    taskbridge.cli
    taskbridge.testing
allow_indirect_imports = true
ignore_imports ={lines(testing_ignores)}
unmatched_ignore_imports_alerting = none
"""


def main() -> int:
    plugins = plugin_packages()
    with tempfile.NamedTemporaryFile("w", suffix=".ini", prefix="importlinter-") as file:
        file.write(config(plugins))
        file.flush()
        command = [str(Path(sys.executable).with_name("lint-imports")), "--no-cache", file.name]
        return subprocess.run(command, cwd=ROOT, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())
