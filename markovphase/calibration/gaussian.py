r"""Exact reference answers for Gaussian and two-macrostate data.

* Gaussian: ``I(A;C|B) = 1/2 [log det S_AB + log det S_BC - log det S_B - log det S_ABC]``
  (nats), with ``S_t = alpha(t)^2 S_0 + sigma(t)^2 I`` along a forward path.
* The lattice Gaussian free field: ``gff_covariance`` (periodic, spectrum
  ``1 / (m^2 + sum_i (2 - 2 cos k_i))``) -- its precision is nearest-neighbour,
  so its clean CMI is 0 for every ``r >= 1``.
* A "macrostate" mixture ``x_0 = s mu + y``, ``s = +-1`` equiprobable,
  ``y ~ N(0, S_0)``: a two-component :class:`GaussianMixtureModel`, so every
  marginal along the path is exact and ``I(A;C|B)`` follows by Monte Carlo
  (a non-Gaussian CMI with a bump in t: B alone stops telling the macrostate
  before ``B u C`` does).
"""

from __future__ import annotations

import numpy as np

from ..cmi.logdet import gaussian_cmi_from_covariance
from .exact_cmi import mixture_cmi
from .mixture import GaussianMixtureModel

__all__ = ["gaussian_cmi", "gff_covariance", "MacrostateMixture"]


def gff_covariance(shape, mass: float, scale: float = 1.0) -> np.ndarray:
    """``scale**2`` times the periodic Gaussian-free-field covariance (exact FFT form)."""
    from ..datasets.gaussian_field import gaussian_field_covariance

    return scale**2 * gaussian_field_covariance(tuple(shape), mass)


def gaussian_cmi(cov: np.ndarray, A, C, B) -> float:
    """Exact I(A;C|B) in nats of a Gaussian with covariance ``cov`` (feature indices).

    ``1/2 [log det S_AB + log det S_BC - log det S_B - log det S_ABC]``; see
    :func:`markovphase.cmi.logdet.gaussian_cmi_from_covariance`.
    """
    return gaussian_cmi_from_covariance(cov, A, C, B)


class MacrostateMixture:
    """``x_0 = s mu + y``, ``s = +-1`` (probability 1/2 each), ``y ~ N(0, cov0)``.

    Parameters
    ----------
    cov0 : array of shape (D, D)
    mu : array of shape (D,)
    """

    def __init__(self, cov0: np.ndarray, mu: np.ndarray):
        self.cov0 = np.asarray(cov0, float)
        self.mu = np.asarray(mu, float)

    @property
    def model(self) -> GaussianMixtureModel:
        """The two-component mixture ``1/2 N(mu, cov0) + 1/2 N(-mu, cov0)``."""
        return GaussianMixtureModel([0.5, 0.5], np.stack([self.mu, -self.mu]),
                                    np.stack([self.cov0, self.cov0]), "full")

    def sample(self, n: int, rng) -> np.ndarray:
        """``n`` clean rows (``rng``: a seed or ``numpy.random.Generator``)."""
        rng = np.random.default_rng(rng)
        L = np.linalg.cholesky(self.cov0)
        s = rng.choice([-1.0, 1.0], size=n)
        return s[:, None] * self.mu[None] + rng.standard_normal((n, len(self.mu))) @ L.T

    def cmi(self, path, t: float, A, C, B, n_mc: int = 20000, rng=0) -> tuple[float, float]:
        """Monte Carlo ``(value, stderr)`` of I(A;C|B) of ``x_t`` from exact log-densities."""
        from ..diffusion import get_path

        p = get_path(path)
        rng = np.random.default_rng(rng)
        alpha, sigma = float(p.alpha(t)), float(p.sigma(t))
        x = alpha * self.sample(n_mc, rng) + sigma * rng.standard_normal((n_mc, len(self.mu)))
        res = mixture_cmi(self.model.noised(p, t), [(A, B, C)], X=x)[0]
        return res.value, res.stderr
