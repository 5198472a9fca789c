"""What a :class:`~markovphase.PhaseScan` may ask of a locality probe: :class:`Probe`.

A probe is a scikit-learn estimator that measures, at one diffusion time
``t``, how a quantity depends on the radius ``r``. The scan relies on:

* parameters ``t`` and those of :class:`ScanSetting` that the probe has
  (``lattice_shape``, ``radii``, ``sites``, ``patch``, ``n_channels``,
  ``periodic``, ``path``, ``cmi``, ``random_state``): the scan sets them
  (:meth:`Probe.scan_params`) and then ``t`` per cell;
* ``fit(X)`` on clean rows sets ``results_``, a list of row dicts with at least
  ``r`` (int, or ``None`` for radius-free probes), ``value`` and ``stderr``;
* :meth:`Probe.markov_length_record` -- the Markov length of the fitted cell
  (default: :func:`~markovphase.probes.markov_length.markov_length_from_rows`);
* path mode, optional: :meth:`Probe.supports_path` and :meth:`Probe.fit_path`
  serve every time of the scan in one run.

Probes registered through ``markovphase_register_probes`` subclass
:class:`Probe`; a plain estimator with ``fit``/``results_`` still works in a
scan, with the defaults (no path mode, Markov length from its rows).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, fields

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ..lattice import Lattice
from .markov_length import markov_length_from_rows

__all__ = ["Probe", "ScanSetting", "scan_params", "cell_payload", "check_radii", "as_sites"]


@dataclass(frozen=True)
class ScanSetting:
    """What a scan tells its probe; a probe takes the fields it has as parameters.

    ``path`` is a resolved :class:`~markovphase.diffusion.DiffusionPath` and
    ``cmi`` a resolved class or instance: the scan resolves names once, so
    probes (and worker processes) need no registry.
    """

    lattice_shape: tuple | None
    radii: tuple
    sites: object = None
    patch: int = 1
    n_channels: int = 1
    periodic: bool = False
    path: object = "linear"
    cmi: object = None
    random_state: int | None = None

    def params(self) -> dict:
        """The fields as a dict (values as given, not copied)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def scan_params(probe: BaseEstimator, setting: ScanSetting) -> dict:
    """The parameters ``probe`` takes from ``setting``: the fields it has.

    A probe that still names the forward path ``schedule`` (no ``path``
    parameter) gets the path there.
    """
    accepted = probe.get_params(deep=False)
    out = {k: v for k, v in setting.params().items() if k in accepted}
    if "path" not in accepted and "schedule" in accepted:
        out["schedule"] = setting.path
    return out


class Probe(BaseEstimator):
    """Base of the locality probes: what a :class:`~markovphase.PhaseScan` may ask of one.

    Subclasses implement ``fit(X)`` (setting ``results_``) and store their
    parameters in ``__init__`` (scikit-learn rules); they may override the
    methods below.
    """

    def scan_params(self, setting: ScanSetting) -> dict:
        """The parameters this probe takes from a scan's setting (:func:`scan_params`)."""
        return scan_params(self, setting)

    def markov_length_record(self) -> dict:
        """``xi``, ``xi_low``, ``xi_high`` and ``status`` of the fitted cell.

        Default: the fit of the ``results_`` rows that have a radius; empty for
        radius-free probes.
        """
        check_is_fitted(self)
        return markov_length_from_rows(self.results_)

    def supports_path(self) -> bool:
        """Whether :meth:`fit_path` serves every time of a scan in one run."""
        return False

    def fit_path(self, X, times) -> dict[float, dict]:
        """Cell payloads ``{t: {"rows": ..., "markov_length": ...}}`` for every time.

        Only for probes whose :meth:`supports_path` is true.
        """
        raise NotImplementedError(f"{type(self).__name__} has no path mode")


def cell_payload(probe: BaseEstimator) -> dict:
    """What a scan keeps of one fitted cell: its rows and its Markov-length record."""
    record = (probe.markov_length_record() if isinstance(probe, Probe)
              else markov_length_from_rows(probe.results_))
    return {"rows": probe.results_, "markov_length": record}


def check_radii(radii) -> np.ndarray:
    """A strictly increasing non-empty sequence of integers >= 0 (an int is one radius)."""
    if isinstance(radii, numbers.Integral):
        radii = [radii]
    r = np.asarray(list(radii))
    if r.ndim != 1 or r.size == 0 or not np.issubdtype(r.dtype, np.integer) or np.any(r < 0):
        raise ValueError(f"radii={radii!r} must be a non-empty sequence of integers >= 0")
    if np.any(np.diff(r) <= 0):
        raise ValueError(f"radii={radii!r} must be strictly increasing")
    return r.astype(int)


def as_sites(sites, lattice: Lattice) -> list:
    """``None`` -> [centre]; one site (int or tuple) -> [site]; a list of sites -> list."""
    if sites is None:
        return [lattice.center]
    arr = np.asarray(sites, dtype=object)
    if arr.ndim == 0 or (arr.ndim == 1 and lattice.ndim > 1 and len(arr) == lattice.ndim
                         and all(isinstance(s, numbers.Integral) for s in arr)):
        return [sites]
    if lattice.ndim == 1 and arr.ndim == 1:
        return [int(s) for s in arr]
    return [tuple(s) for s in sites]
