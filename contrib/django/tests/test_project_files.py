"""The adapter's migrations match its models, and the example project passes Django's checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "django"


@pytest.mark.django_db
def test_the_migrations_match_the_models() -> None:
    """makemigrations finds nothing to write for taskbridge_django."""
    call_command("makemigrations", "taskbridge_django", "--check", "--dry-run", verbosity=0)


def test_the_example_project_passes_its_checks() -> None:
    """examples/django: manage.py check, warnings included, exits 0."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run([sys.executable, "manage.py", "check", "--fail-level", "WARNING"],
                          cwd=EXAMPLE, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
