"""``manage.py taskbridge worker|scheduler|status|inspect|failed|purge|tasks|schedules|dashboard``:
the core's command line, with the same options and exit codes, on the bridge
``settings.TASKBRIDGE`` describes, with Django set up (the apps' ``tasks.py`` imported)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from taskbridge import ConfigurationError
from taskbridge.plugin import run_command

PROG = "manage.py taskbridge"
EXIT_USAGE = 2
#: Options ``manage.py`` itself takes before setting Django up; not the core's.
_DJANGO_OPTIONS = ("--settings", "--pythonpath")


def _without_django_options(argv: list[str]) -> list[str]:
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _DJANGO_OPTIONS:
            skip = True
        elif not arg.startswith(tuple(f"{option}=" for option in _DJANGO_OPTIONS)):
            kept.append(arg)
    return kept


def run(argv: list[str]) -> int:
    """The core command line on ``argv``, with the bridge ``settings.TASKBRIDGE`` describes
    (``--url`` and ``--imports`` override its settings); its exit code."""
    from taskbridge_django.conf import make_bridge

    try:
        bridge = make_bridge()
    except ConfigurationError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return run_command(_without_django_options(argv), bridge=bridge, prog=PROG)
    finally:
        bridge.close()


class Command(BaseCommand):
    help = "Run taskbridge workers and schedulers, and look at and act on tasks."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("arguments", nargs=argparse.REMAINDER,
                            help="the taskbridge command and its options, e.g. 'worker -c 2'")

    def run_from_argv(self, argv: list[str]) -> None:
        """``manage.py taskbridge ...``: every argument goes to the core's parser as it is, and
        the process exits with the core's exit code (0 ok, 1 problem found, 2 usage)."""
        sys.exit(run(argv[2:]))

    def handle(self, *args: Any, **options: Any) -> None:
        """``call_command("taskbridge", "status")``: a non-zero exit code is a
        ``CommandError`` carrying it."""
        code = run([*args, *options.get("arguments", [])])
        if code:
            raise CommandError(f"taskbridge exited with code {code}", returncode=code)
