"""The ``markovphase`` command line: help, ``plugins [--json]``, ``datasets``.

In-process tests drive the click group with ``CliRunner`` (built-ins only); one
test runs the real console script in a fresh interpreter.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

import markovphase
from markovphase import plugins
from markovphase.cli import add_plugin_commands, cli
from markovphase.hookspecs import hookimpl

pytestmark = pytest.mark.usefixtures("fresh_registry")


def invoke(*args):
    result = CliRunner().invoke(cli, list(args), prog_name="markovphase")
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def test_console_script_help_lists_the_commands():
    exe = shutil.which("markovphase", path=os.path.dirname(sys.executable))
    assert exe, "the markovphase console script is not installed"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env[plugins.DISABLE_ENV] = "1"
    proc = subprocess.run([exe, "--help"], capture_output=True, text=True, env=env,
                          timeout=120, cwd=os.path.dirname(sys.executable))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("Usage: markovphase [OPTIONS] COMMAND [ARGS]...")
    assert "how local is a data distribution along a diffusion path" in out
    commands = out.split("Commands:")[1]
    listed = [line.split()[0] for line in commands.splitlines() if line.startswith("  ")]
    assert {"plugins", "datasets", "scan"} <= set(listed)
    for line in commands.splitlines():
        if line.startswith("  "):
            assert len(line.split(maxsplit=1)) == 2, f"command without help: {line!r}"
    # the examples block keeps its line breaks (\b) instead of being re-wrapped
    assert "\n  Main job:   markovphase scan" in out
    assert "\n  Components: markovphase plugins [--json]" in out


def test_short_help_and_version():
    assert invoke("-h").stdout == invoke("--help").stdout
    assert invoke("--version").stdout.strip().endswith(markovphase.__version__)


def test_help_of_each_builtin_command():
    for name, needle in (("plugins", "--json"), ("datasets", "parameters")):
        out = invoke(name, "--help").stdout
        assert out.startswith(f"Usage: markovphase {name} [OPTIONS]")
        assert needle in out


def test_plugins_text_lists_every_kind_and_component():
    out = invoke("plugins").stdout
    for kind in plugins.KINDS:
        assert f"{kind}:" in out
    comps = plugins.components()
    assert comps, "no component registered at all"
    for comp in comps:
        line = next(ln for ln in out.splitlines() if ln.startswith(f"  {comp.name} "))
        assert f"{comp.distribution} {comp.version}" in line
        assert f"({comp.obj.__module__}.{comp.obj.__qualname__})" in line
    for err in plugins.load_errors():  # e.g. a built-in module not written yet
        assert f"error: plugin {err['plugin']}" in out and err["error"] in out


def test_plugins_json_is_valid_and_complete():
    report = json.loads(invoke("plugins", "--json").stdout)
    assert set(report) == {"components", "errors"}
    rows = report["components"]
    assert len(rows) == len(plugins.components())
    for row in rows:
        assert set(row) == {"kind", "name", "plugin", "distribution", "version", "object"}
        comp = plugins.component(row["kind"], row["name"])
        assert row["plugin"] == comp.plugin == f"markovphase.{_module_dir(row['kind'])}"
        assert row["distribution"] == "markovphase"
        assert row["version"] == markovphase.__version__
        assert row["object"] == f"{comp.obj.__module__}.{comp.obj.__qualname__}"
    assert report["errors"] == plugins.load_errors()
    for err in report["errors"]:
        assert set(err) == {"plugin", "distribution", "version", "stage", "error"}


def _module_dir(kind):
    return {"cmi": "cmi", "probe": "probes", "dataset": "datasets"}[kind]


def test_plugins_json_shows_a_runtime_plugin_and_its_error():
    class Demo:
        @hookimpl
        def markovphase_register_datasets(self, register):
            register("cli-demo", _demo_loader)

    class Broken:
        @hookimpl
        def markovphase_register_cmi_estimators(self, register):
            raise RuntimeError("cannot register")

    plugins.register_plugin(Demo(), name="demo-plugin")
    with pytest.warns(plugins.PluginWarning):
        plugins.register_plugin(Broken(), name="broken-plugin")
    report = json.loads(invoke("plugins", "--json").stdout)
    (row,) = [r for r in report["components"] if r["name"] == "cli-demo"]
    assert row["plugin"] == "demo-plugin" and row["distribution"] is None
    assert row["object"].endswith("_demo_loader")
    (err,) = [e for e in report["errors"] if e["plugin"] == "broken-plugin"]
    assert err["error"] == "RuntimeError: cannot register" and err["stage"] == "register cmi"
    text = invoke("plugins").stdout
    assert "  cli-demo           demo-plugin  (" in text
    assert "error: plugin broken-plugin (register cmi): RuntimeError: cannot register" in text


def _demo_loader(size: int = 4, mode: str = "fast"):
    """A demo loader for the CLI tests.

    More text that the listing leaves out.
    """


def test_datasets_lists_names_and_parameters():
    out = invoke("datasets").stdout
    comps = sorted(plugins.components("dataset"), key=lambda c: c.name)
    assert comps, "no dataset adapter registered"
    heads = [ln for ln in out.splitlines() if not ln.startswith(" ")]
    assert heads == [f"{c.name}  (markovphase)" for c in comps]  # sorted, with the source
    for comp in comps:
        block = out.split(f"{comp.name}  (")[1]
        for p in inspect.signature(comp.obj).parameters.values():
            opt = f"    --{p.name.replace('_', '-')}"
            assert opt in block
            if p.default is not p.empty:
                assert f"{opt} = {p.default!r}" in block


def test_datasets_shows_a_plugin_adapter_with_its_first_doc_line():
    class Demo:
        @hookimpl
        def markovphase_register_datasets(self, register):
            register("cli-demo", _demo_loader)

    plugins.register_plugin(Demo(), name="demo-plugin")
    out = invoke("datasets").stdout
    block = out.split("cli-demo  (demo-plugin)\n")[1]
    assert block.startswith(
        "    A demo loader for the CLI tests.\n    --size = 4\n    --mode = 'fast'\n"
    )
    assert "More text" not in out


def test_unknown_command_is_a_usage_error():
    result = CliRunner().invoke(cli, ["plugin"], prog_name="markovphase")
    assert result.exit_code == 2
    assert "No such command 'plugin'" in result.output


# --------------------------------------------------------------------------
# commands added by plugins


def _group():
    @click.group()
    def group():
        """A test group."""

    @group.command(name="plugins")
    def original():
        """The original."""
        click.echo("original")

    return group


def _echo(text):
    def command():
        click.echo(text)

    return command


def _command_plugin(commands: dict[str, str], error: Exception | None = None):
    """A plugin whose command hook adds ``{name: text it echoes}``, then raises ``error``."""

    class CommandPlugin:
        @hookimpl
        def markovphase_register_commands(self, cli):
            for name, text in commands.items():
                cli.command(name=name)(_echo(text))
            if error is not None:
                raise error

    return CommandPlugin()


def test_plugin_commands_are_added():
    plugins.register_plugin(_command_plugin({"hello": "hi"}), name="adds")
    group = _group()
    add_plugin_commands(group)
    result = CliRunner().invoke(group, ["hello"])
    assert result.exit_code == 0 and result.stdout == "hi\n"


def test_plugin_may_not_replace_an_existing_command():
    plugins.register_plugin(_command_plugin({"extra": "extra", "plugins": "hijacked"}),
                            name="hijack")
    group = _group()
    with pytest.warns(plugins.PluginWarning, match="hijack"):
        add_plugin_commands(group)
    result = CliRunner().invoke(group, ["plugins"])
    assert result.stdout == "original\n"
    assert "extra" not in group.commands  # all of the plugin's commands, or none
    (err,) = [e for e in plugins.load_errors() if e["plugin"] == "hijack"]
    assert err["stage"] == "register commands" and "['plugins']" in err["error"]


def test_a_command_hook_that_raises_is_skipped():
    plugins.register_plugin(_command_plugin({"half": ""}, RuntimeError("command hook failed")),
                            name="raises")
    group = _group()
    with pytest.warns(plugins.PluginWarning, match="raises"):
        add_plugin_commands(group)
    assert "half" not in group.commands and {"plugins", "scan", "sample"} <= set(group.commands)
    (err,) = [e for e in plugins.load_errors() if e["plugin"] == "raises"]
    assert err["error"] == "RuntimeError: command hook failed"
