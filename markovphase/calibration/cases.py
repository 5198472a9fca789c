"""Calibration cases: lattice distributions whose noised CMI is exact along every path.

A case is a small object with its parameters, the lattice (``lattice_shape``,
``site`` = A, open borders), ``sample_clean(n, random_state)`` -> ``X0`` and
``exact_cmi(times, radii, path, n_mc, random_state)`` -> a table of
I(A;C|B(r)) with its Monte Carlo standard error. Every case has a
``random_state`` (it seeds the case's own randomness, e.g. k-means, and the
default sampling seed); parameters are validated on construction with a
``ValueError`` naming the parameter.

Cases built on a :class:`~markovphase.calibration.mixture.GaussianMixtureModel`
(:class:`MixtureCase`) get their exact values from
:func:`~markovphase.calibration.exact_cmi.mixture_cmi_path`.
"""

from __future__ import annotations

import inspect
import numbers
from functools import cached_property

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from ..lattice import Lattice
from .exact_cmi import mixture_cmi_path
from .gaussian import gff_covariance
from .mixture import GaussianMixtureModel

__all__ = ["CalibrationCase", "MixtureCase", "GaussianFieldCase", "check_real", "check_int",
           "mc_seed", "EXACT_COLUMNS"]

#: columns of :meth:`CalibrationCase.exact_cmi`
EXACT_COLUMNS = ["t", "r", "exact", "exact_stderr"]


def check_real(value, name: str, low: float = 0.0, high: float = np.inf,
               low_open: bool = True) -> float:
    """``value`` as a finite float in ``(low, high]`` (``[low, high]`` if not ``low_open``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}={value!r} must be a real number")
    v = float(value)
    ok = np.isfinite(v) and (v > low if low_open else v >= low) and v <= high
    if not ok:
        lo = "(" if low_open else "["
        raise ValueError(f"{name}={value!r} must lie in {lo}{low}, {high}]")
    return v


def check_int(value, name: str, low: int = 1, high: int | None = None) -> int:
    """``value`` as an int in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}={value!r} must be an integer")
    if value < low or (high is not None and value > high):
        raise ValueError(f"{name}={value!r} must lie in [{low}, {high if high else 'inf'}]")
    return int(value)


def mc_seed(random_state) -> int:
    """A Monte Carlo seed distinct from the sampling seed ``random_state`` (an int)."""
    base = 0 if random_state is None else int(check_random_state(random_state).randint(2**31))
    return int(np.random.SeedSequence([base, 0xCA1B]).generate_state(1)[0])


class CalibrationCase:
    """Base of calibration cases; subclasses set ``name``, give a ``model`` (an object with
    ``sample(n, rng)``, used by :meth:`sample_clean`) and implement :meth:`exact_cmi`.

    Attributes
    ----------
    name : str
        Registry name (``"class-templates"``, ...).
    lattice_shape : tuple of int
    site : tuple of int
        The site A (the lattice centre unless a case says otherwise).
    periodic : bool
        Always False: B(r) is the open-border Chebyshev ring.
    """

    name = "case"
    periodic = False

    # -- parameters -----------------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    @property
    def params(self) -> dict:
        """The constructor's parameters (``random_state`` included)."""
        return {p: getattr(self, p) for p in self._param_names()}

    @property
    def label(self) -> str:
        """``name`` and the parameters but ``random_state``, e.g. ``class-templates-tau0.2``."""
        parts = [f"{k}{v}" for k, v in self.params.items() if k != "random_state"]
        return "-".join([self.name, *parts])

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"

    @property
    def description(self) -> str:
        """One line: what the clean data are."""
        doc = inspect.getdoc(type(self)) or ""
        return doc.splitlines()[0] if doc else self.name

    # -- geometry -------------------------------------------------------------
    @property
    def lattice(self) -> Lattice:
        return Lattice(self.lattice_shape, 1, self.periodic)

    @property
    def site(self) -> tuple[int, ...]:
        return self.lattice.center

    def regions(self, radii) -> list:
        """``Regions`` of A = ``site``, B(r), C for each radius."""
        return [self.lattice.regions(self.site, int(r)) for r in radii]

    def check_radii(self, radii) -> list[int]:
        """Strictly increasing radii >= 0 that leave C non-empty around the centre (checked
        before any value is made: ``range(1, 10**9)`` is refused at once)."""
        from ..probes.base import check_radii

        rmax = self.lattice.max_radius(self.site)
        return check_radii(radii, below=rmax, where=f"around the centre {self.site} of the "
                           f"lattice {self.lattice_shape}").tolist()

    # -- the two jobs ---------------------------------------------------------
    def sample_clean(self, n: int, random_state=None) -> np.ndarray:
        """``n`` clean rows ``X0`` (n, n_sites) drawn from ``self.model``;
        ``random_state=None`` uses the case's."""
        n = check_int(n, "n_samples", 1)
        seed = self.random_state if random_state is None else random_state
        return self.model.sample(n, check_random_state(seed))

    def exact_cmi(self, times=(0.1, 0.3, 0.5, 0.7), radii=range(1, 7), path="linear",
                  n_mc: int = 20_000, random_state=None) -> pd.DataFrame:
        """Exact I(A;C|B(r)) of the noised data: columns ``t, r, exact, exact_stderr`` (nats)."""
        raise NotImplementedError

    def _table(self, per_t: dict, radii) -> pd.DataFrame:
        rows = [{"t": t, "r": r, "exact": res.value, "exact_stderr": res.stderr}
                for t, results in per_t.items() for r, res in zip(radii, results, strict=True)]
        return pd.DataFrame(rows, columns=EXACT_COLUMNS)

    def _mc_seed(self, random_state):
        """The Monte Carlo seed of :meth:`exact_cmi`: ``random_state``, or one drawn from
        the case's (:func:`mc_seed`) when it is None."""
        return mc_seed(self.random_state) if random_state is None else random_state


class MixtureCase(CalibrationCase):
    """A case whose clean law is a :class:`GaussianMixtureModel` (``self.model``)."""

    def build_model(self) -> GaussianMixtureModel:
        raise NotImplementedError

    @cached_property
    def model(self) -> GaussianMixtureModel:
        """The clean mixture (built once)."""
        return self.build_model()

    def exact_cmi(self, times=(0.1, 0.3, 0.5, 0.7), radii=range(1, 7), path="linear",
                  n_mc: int = 20_000, random_state=None) -> pd.DataFrame:
        radii = self.check_radii(radii)
        per_t = mixture_cmi_path(self.model, path, times, self.regions(radii), n_mc=n_mc,
                                 random_state=self._mc_seed(random_state))
        return self._table(per_t, radii)


class GaussianFieldCase(MixtureCase):
    """Gaussian free field on a periodic 27x27 torus (scaled to site std ``scale``): exact log-dets.

    Clean CMI is 0 for r >= 1 (nearest-neighbour precision); noise creates CMI
    decaying exponentially in r. A one-component mixture: the exact values have
    no Monte Carlo error.

    Parameters
    ----------
    mass : float, default=0.1
        Mass ``m > 0``; the correlation length is about ``1/m`` sites.
    scale : float, default=0.5
        Standard deviation of one site (MNIST's centre pixel has about 0.45).
    side : int, default=27
    random_state : int or None, default=0
        Default seed of :meth:`sample_clean`.
    """

    name = "gaussian-field"

    def __init__(self, mass=0.1, scale=0.5, side=27, random_state=0):
        self.mass = check_real(mass, "mass")
        self.scale = check_real(scale, "scale")
        self.side = check_int(side, "side", 3, 64)
        self.random_state = random_state

    @property
    def lattice_shape(self):
        return (self.side, self.side)

    def build_model(self) -> GaussianMixtureModel:
        cov = gff_covariance(self.lattice_shape, self.mass)
        cov *= self.scale**2 / cov[0, 0]
        return GaussianMixtureModel([1.0], np.zeros((1, len(cov))), cov[None], "full")
