"""The ``markovphase`` command line (click): it parses, validates into library types,
calls the library and prints. Plugins add commands through a hook.

* this module -- the group, :func:`main`, ``markovphase plugins`` and
  ``markovphase datasets``, and the loading of plugin commands;
* :mod:`~markovphase.cli.params` -- text to values, library errors to click errors;
* :mod:`~markovphase.cli.scan` -- ``markovphase scan``;
* :mod:`~markovphase.cli.sample` -- ``markovphase sample``;
* :mod:`~markovphase.cli.commands` -- the built-in commands' hook implementation.
"""

from __future__ import annotations

import inspect
import json
import sys

import click

from .. import plugins
from .params import echo_warnings

__all__ = ["cli", "main", "get_cli", "add_plugin_commands"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="markovphase")
def cli():
    """markovphase: how local is a data distribution along a diffusion path?

    \b
    Main job:   markovphase scan --dataset digits --cmi gaussian --out report/
    Components: markovphase plugins [--json]   (CMI estimators, probes, datasets)
    Data:       markovphase datasets
    """


@cli.command(name="plugins")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins_command(as_json: bool):
    """List every registered component and any plugin that failed to load."""
    rows = [
        {"kind": c.kind, "name": c.name, "plugin": c.plugin,
         "distribution": c.distribution, "version": c.version,
         "object": f"{getattr(c.obj, '__module__', '?')}.{getattr(c.obj, '__qualname__', c.obj)}"}
        for c in plugins.components()
    ]
    errors = plugins.load_errors()
    if as_json:
        click.echo(json.dumps({"components": rows, "errors": errors}, indent=2))
        return
    for kind in plugins.KINDS:
        click.echo(f"{kind}:")
        for r in (r for r in rows if r["kind"] == kind):
            src = r["distribution"] or r["plugin"]
            version = f" {r['version']}" if r["version"] else ""
            click.echo(f"  {r['name']:<18} {src}{version}  ({r['object']})")
    for e in errors:
        dist = f" [{e['distribution']} {e['version']}]" if e["distribution"] else ""
        click.echo(f"error: plugin {e['plugin']}{dist} ({e['stage']}): {e['error']}", err=False)


@cli.command(name="datasets")
def datasets_command():
    """List dataset adapters and their parameters (usable as ``scan`` options)."""
    for comp in sorted(plugins.components("dataset"), key=lambda c: c.name):
        click.echo(f"{comp.name}  ({comp.distribution or comp.plugin})")
        doc = inspect.getdoc(comp.obj) or ""
        if doc:
            click.echo(f"    {doc.splitlines()[0]}")
        for p in inspect.signature(comp.obj).parameters.values():
            default = "" if p.default is p.empty else f" = {p.default!r}"
            click.echo(f"    --{p.name.replace('_', '-')}{default}")


def add_plugin_commands(group: click.Group) -> None:
    """Let every plugin add commands to ``group``, in registration order (built-ins first).

    A plugin whose hook raises, or that reuses the name of an existing command,
    is skipped (its commands are removed) and reported like a load error.
    """
    plugins.load_plugins()
    for impl in plugins.pm.hook.markovphase_register_commands.get_hookimpls():
        before = dict(group.commands)
        try:
            impl.function(cli=group)
            clash = sorted(n for n, cmd in before.items() if group.commands.get(n) is not cmd)
            if clash:
                raise plugins.DuplicateComponentError(
                    f"command(s) {clash} already exist; plugin {impl.plugin_name!r} "
                    "may not replace them"
                )
        except Exception as exc:  # a broken plugin never bricks the CLI
            group.commands.clear()
            group.commands.update(before)
            plugins.record_error(impl.plugin_name, "register commands", exc)


_commands_added = False


def get_cli() -> click.Group:
    """The ``markovphase`` click group with every built-in and plugin command added (once).

    Plugin load errors become one readable line each on stderr (not a Python
    warning with a source location); ``markovphase plugins`` lists them.
    """
    global _commands_added
    if not _commands_added:
        with echo_warnings((plugins.PluginWarning,)):
            add_plugin_commands(cli)
        _commands_added = True
    return cli


def main(argv=None):
    """Entry point of the ``markovphase`` console script."""
    return get_cli().main(args=argv, prog_name="markovphase", standalone_mode=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
