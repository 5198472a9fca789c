"""Built-in commands, added through the same hook as third-party plugin commands."""

from __future__ import annotations

from ..hookspecs import hookimpl


@hookimpl
def markovphase_register_commands(cli):
    from .calibrate import calibrate_command
    from .sample import sample_command
    from .scan import scan_command

    cli.add_command(scan_command)
    cli.add_command(sample_command)
    cli.add_command(calibrate_command)
