"""The plugin module named by the ``markovphase`` entry point.

markovphase's plugin manager (pluggy) imports this module and calls the hook
implementations below; each gets a ``register(name, obj)`` callback (or the
click group, for commands).
"""

from __future__ import annotations

from markovphase.hookspecs import hookimpl


@hookimpl
def markovphase_register_datasets(register):
    from .datasets import load_ising, load_potts

    register("ising", load_ising)
    register("potts", load_potts)


@hookimpl
def markovphase_register_probes(register):
    from .probe import OrderParameterProbe

    register("order-parameter", OrderParameterProbe)


@hookimpl
def markovphase_register_commands(cli):
    from .cli import ising_check

    cli.add_command(ising_check)
