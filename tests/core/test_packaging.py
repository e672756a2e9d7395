"""What `pip install` offers: an extra for every engine plugin this repository ships."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_shipped_engine_has_an_extra() -> None:
    """taskbridge[huey], [rq] and [celery] install the plugin distributions of backends/, at
    the version they carry; the README's install section names each extra."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    readme = (ROOT / "README.md").read_text()
    shipped = sorted(p.parent for p in ROOT.glob("backends/*/pyproject.toml"))
    assert shipped, "no backend distributions found"
    for folder in shipped:
        project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
        engine = folder.name
        major_minor = ".".join(project["version"].split(".")[:2])
        [requirement] = extras[engine]
        assert requirement.startswith(f"{project['name']}>={major_minor}"), requirement
        assert f"taskbridge[{engine}]" in readme
    assert "taskbridge[dashboard]" in readme
