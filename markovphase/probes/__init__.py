"""Locality probes: estimators that measure, at one diffusion time, how a
quantity depends on the radius r. Registered through ``markovphase_register_probes``.

The probe protocol (what :class:`markovphase.PhaseScan` relies on): a
scikit-learn estimator with parameters ``lattice_shape``, ``t`` and ``radii``
(and, where it accepts them, ``n_channels``, ``periodic``, ``site``,
``schedule``, ``random_state``); ``fit(X)`` sets ``results_``, a list of row
dicts with at least ``r`` (int, or None for radius-free probes), ``value`` and
``stderr``, and may add further keys.
"""

from __future__ import annotations

from ..hookspecs import hookimpl


@hookimpl
def markovphase_register_probes(register):
    from .denoiser import DenoiserProbe
    from .markov import MarkovProbe

    register("cmi", MarkovProbe)
    register("denoiser", DenoiserProbe)
