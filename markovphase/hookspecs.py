"""Hook specifications of markovphase.

A plugin is a module (or object) with functions decorated by :data:`hookimpl`
whose names match the specs below; it is found through the ``markovphase``
entry-point group. Each ``register`` hook receives a callback
``register(name, obj)`` that adds one component under ``name``; a name that
another plugin already registered is an error that names both plugins.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("markovphase")
hookimpl = pluggy.HookimplMarker("markovphase")


@hookspec
def markovphase_register_cmi_estimators(register):
    """Register estimators of the conditional mutual information I(A;C|B).

    :param register: ``register(name, cls)``. ``cls`` is a
        :class:`markovphase.cmi.CMIEstimator` subclass whose constructor
        takes keyword parameters only (scikit-learn style) and whose
        ``estimate(A, C, B)`` returns nats.
    """


@hookspec
def markovphase_register_probes(register):
    """Register locality probes usable by :class:`markovphase.PhaseScan`.

    :param register: ``register(name, cls)``. ``cls`` is a
        :class:`markovphase.probes.Probe` subclass (a scikit-learn estimator
        with a parameter ``t`` and those of
        :class:`~markovphase.probes.ScanSetting` it uses) whose ``fit(X)``
        sets ``results_``, a list of row dicts with at least the keys ``r``,
        ``value`` and ``stderr``; see :mod:`markovphase.probes.base` for what
        else a scan may ask of it.
    """


@hookspec
def markovphase_register_datasets(register):
    """Register dataset adapters.

    :param register: ``register(name, loader)``. ``loader(**params)`` returns a
        :class:`markovphase.datasets.Dataset`; its keyword parameters (with
        defaults and annotations) become ``markovphase scan`` options.
    """


@hookspec
def markovphase_register_commands(cli):
    """Add commands to the ``markovphase`` command line.

    :param cli: the top-level :class:`click.Group`; decorate functions with
        ``@cli.command()`` to add sub-commands.
    """
