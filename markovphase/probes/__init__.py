"""Locality probes: estimators that measure, at one diffusion time, how a
quantity depends on the radius r. Registered through ``markovphase_register_probes``.

* :mod:`~markovphase.probes.base` -- :class:`Probe`, what a
  :class:`~markovphase.PhaseScan` may ask of a probe (the contract);
* :mod:`~markovphase.probes.markov` -- :class:`MarkovProbe` (``"markov"``),
  I(A;C|B(r)) from a CMI estimator;
* :mod:`~markovphase.probes.denoiser` -- :class:`DenoiserProbe` (``"denoiser"``),
  local-minus-global denoising loss;
* :mod:`~markovphase.probes.markov_length` -- the Markov-length fit.

The Markov probe was registered as ``"cmi"`` up to markovphase 0.1; that name
still finds it for one release, with a ``FutureWarning``.
"""

from __future__ import annotations

from ..hookspecs import hookimpl
from .base import Probe, ScanSetting

__all__ = ["Probe", "ScanSetting"]


@hookimpl
def markovphase_register_probes(register):
    from .denoiser import DenoiserProbe
    from .markov import MarkovProbe

    register("markov", MarkovProbe)
    register("denoiser", DenoiserProbe)
