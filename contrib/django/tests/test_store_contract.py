"""The Django store passes the store contract suite on SQLite and on PostgreSQL, racing
producers included, run as a third party runs it: ``pytest --pyargs
taskbridge.testing.store_contract --taskbridge-store=django:<alias>``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import postgres_answers

TESTS = Path(__file__).parent


@pytest.mark.slow
@pytest.mark.parametrize("url", ["django", "django:pg"])
def test_the_store_contract_suite_passes(url: str, tmp_path: Path) -> None:
    """Every test of the store contract suite passes on this database."""
    if url == "django:pg" and postgres_answers() is not None:
        pytest.skip(postgres_answers() or "")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "testproject.settings",
           "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    command = [
        sys.executable, "-m", "pytest", "-p", "no:django", "-p", "no:cacheprovider",
        "-p", "no:asyncio", "-q",
        "-W", "error",
        "--rootdir", str(tmp_path), "--pyargs", "taskbridge.testing.store_contract",
        f"--taskbridge-store={url}",
    ]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in summary and "skipped" not in summary, summary
