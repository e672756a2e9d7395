"""``flask taskbridge ...``: the ``taskbridge`` command line for the app ``--app`` loads.

Registered through the ``flask.commands`` entry point. Every subcommand is the core's, with
its options and exit codes, run on the app's bridge (its ``TASKBRIDGE_*`` configuration), so
workers and the scheduler need no ``--url``, ``--imports`` or ``PYTHONPATH``; tasks run in the
app's application context.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from taskbridge.plugin import cli_commands, run_command
from taskbridge_flask._extension import current_app_checked, state
from taskbridge_flask.plugin import serve_app

PROG = "flask taskbridge"

taskbridge_group = AppGroup(
    "taskbridge",
    help="Run taskbridge workers and the scheduler for this app, and look at its tasks "
    "('flask taskbridge COMMAND --help' for each command's options).",
)


def _forward(name: str, summary: str) -> None:
    # The core's parser owns the options, --help included: click passes everything through.
    @taskbridge_group.command(
        name, help=summary, short_help=summary, add_help_option=False,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )
    @click.pass_context
    def command(ctx: click.Context) -> None:
        app = current_app_checked()
        try:
            bridge = state(app).bridge
        except RuntimeError as exc:  # an app without the extension: a usage problem
            raise click.UsageError(str(exc)) from None
        serve_app(app)
        ctx.exit(run_command([name, *ctx.args], bridge=bridge, prog=PROG))


for _name, _summary in cli_commands().items():
    _forward(_name, _summary)
