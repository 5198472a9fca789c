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
* :meth:`Probe.check_input` -- optional: refuse data or parameters the probe
  cannot use *before* any cell is computed (the scan calls it once, up front);
* path mode, optional: :meth:`Probe.supports_path` and :meth:`Probe.iter_path`
  (or :meth:`Probe.fit_path`) serve every time of the scan in one run.
  ``iter_path(X, times)`` yields ``(t, payload)`` as each time is finished:
  the scan caches every cell as it arrives, so an interrupted path-mode scan
  keeps what was finished, and a rerun asks the probe only for the missing
  times. A probe that can only deliver all times at the end implements
  ``fit_path`` (a dict); the default ``iter_path`` yields its items. The value
  at a time must not depend on which other times are asked for (a resumed
  scan then equals an uninterrupted one).

A cell payload is ``{"rows": [row, ...], "markov_length": {...}}``
(:func:`cell_payload`); :func:`is_cell_payload` says whether an object read
back from a cache has that shape.

Probes registered through ``markovphase_register_probes`` subclass
:class:`Probe`; a plain estimator with ``fit``/``results_`` still works in a
scan, with the defaults (no path mode, Markov length from its rows).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator
from dataclasses import dataclass, fields

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ..lattice import Lattice
from .markov_length import markov_length_from_rows

__all__ = ["Probe", "ScanSetting", "scan_params", "cell_payload", "is_cell_payload",
           "check_radii", "as_sites", "short_repr"]


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

    def check_input(self, X) -> None:
        """Raise ``ValueError``/``TypeError`` for data ``X`` (clean rows) or parameters this
        probe cannot use, without computing anything.

        A scan calls it once before its first cell, so a bad radius or too few
        samples are refused before any work (and before a cache folder is
        made). Default: nothing; ``fit`` still validates everything itself.
        """

    def supports_path(self) -> bool:
        """Whether :meth:`iter_path` (or :meth:`fit_path`) serves every time of a scan in
        one run."""
        return False

    def fit_path(self, X, times) -> dict[float, dict]:
        """Cell payloads ``{t: {"rows": ..., "markov_length": ...}}`` for every time.

        Only for probes whose :meth:`supports_path` is true. Default: collects
        :meth:`iter_path`; a probe overrides one of the two.
        """
        if type(self).iter_path is Probe.iter_path:
            raise NotImplementedError(f"{type(self).__name__} has no path mode")
        return {float(t): payload for t, payload in self.iter_path(X, times)}

    def iter_path(self, X, times) -> Iterator[tuple[float, dict]]:
        """Yield ``(t, payload)`` for every time in ``times`` as soon as it is finished.

        Only for probes whose :meth:`supports_path` is true. A scan caches each
        cell when it arrives (so an interruption loses only unfinished times)
        and asks only for the times it has not cached. Default: the items of
        :meth:`fit_path` (all at the end).
        """
        if type(self).fit_path is Probe.fit_path:
            raise NotImplementedError(f"{type(self).__name__} has no path mode")
        yield from self.fit_path(X, times).items()


def cell_payload(probe: BaseEstimator) -> dict:
    """What a scan keeps of one fitted cell: its rows and its Markov-length record."""
    record = (probe.markov_length_record() if isinstance(probe, Probe)
              else markov_length_from_rows(probe.results_))
    return {"rows": probe.results_, "markov_length": record}


def is_cell_payload(payload) -> bool:
    """Whether ``payload`` has the shape of a scan cell (:func:`cell_payload`).

    A dict with a non-empty list ``rows`` of dicts that each have ``r`` (an
    integer or ``None``), ``value`` and ``stderr`` (numbers or ``None``), and
    an optional dict ``markov_length``.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("rows"), list):
        return False
    if not payload["rows"] or not isinstance(payload.get("markov_length", {}), dict):
        return False
    number = (numbers.Real, type(None))
    for row in payload["rows"]:
        if not isinstance(row, dict) or not {"r", "value", "stderr"} <= set(row):
            return False
        r = row["r"]
        if isinstance(r, bool) or not isinstance(r, (numbers.Integral, type(None))):
            return False
        if not isinstance(row["value"], number) or not isinstance(row["stderr"], number):
            return False
    return True


def short_repr(values, limit: int = 6) -> str:
    """A short readable form of a sequence for error messages (never every value).

    Short sequences print as a list; a long ``range`` keeps its ``range(a, b)``
    form; other long sequences show their first and last values and their
    length; numpy scalars print as plain numbers.
    """
    if isinstance(values, (str, bytes)) or (isinstance(values, range) and len(values) > limit):
        return repr(values)
    try:
        n = len(values)
        seq = values if hasattr(values, "__getitem__") else list(values)
    except TypeError:
        return repr(values)
    plain = lambda v: v.item() if isinstance(v, np.generic) else v  # noqa: E731
    if n <= limit:
        return repr([plain(v) for v in seq])
    head = ", ".join(repr(plain(seq[i])) for i in range(3))
    return f"[{head}, ..., {plain(seq[n - 1])!r}] ({n} values)"


def check_radii(radii, below: int | None = None, where: str = "") -> np.ndarray:
    """A strictly increasing non-empty sequence of integers >= 0 (an int is one radius).

    With ``below``, every radius must be ``< below`` (e.g. the radius from
    which C is empty); a ``range`` is checked against it before any value is
    made, so ``range(1, 10**9)`` is refused at once. ``where`` is added to that
    message (e.g. "around site (4, 4) of the lattice (8, 8)").
    """
    if isinstance(radii, numbers.Integral) and not isinstance(radii, bool):
        radii = [radii]
    if isinstance(radii, (str, bytes)) or not hasattr(radii, "__len__"):
        raise ValueError(f"radii={radii!r} must be a non-empty sequence of integers >= 0")
    if below is not None and len(radii) and isinstance(radii, range):
        top = radii[-1] if radii.step > 0 else radii[0]
        if top >= below:
            raise ValueError(f"radii={short_repr(radii)} reach {top}, but {where or 'here'} C is "
                             f"empty from radius {below}: use radii < {below}")
    r = np.asarray(list(radii))
    if (r.ndim != 1 or r.size == 0 or r.dtype == bool or not np.issubdtype(r.dtype, np.integer)
            or np.any(r < 0)):
        raise ValueError(f"radii={short_repr(radii)} must be a non-empty sequence of "
                         "integers >= 0")
    if np.any(np.diff(r) <= 0):
        raise ValueError(f"radii={short_repr(radii)} must be strictly increasing")
    if below is not None and r.max() >= below:
        raise ValueError(f"radii={short_repr(radii)} reach {int(r.max())}, but "
                         f"{where or 'here'} C is empty from radius {below}: "
                         f"use radii < {below}")
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
