"""Exact reference answers for calibrating the neural / MINE estimators (private).

* Gaussian: ``I(A;C|B) = 1/2 [log det S_AB + log det S_BC - log det S_B - log det S_ABC]``.
* A "macrostate" mixture ``x_0 = s mu + y`` with ``s = +-1`` equiprobable and
  ``y ~ N(0, S_0)``: along ``x_t = alpha x_0 + sigma z`` every marginal is the
  two-component mixture ``1/2 N(alpha s mu_S, S_t[S, S])``, so
  ``log p`` of any subset is closed-form and
  ``I(A;C|B) = E[log p(ABC) + log p(B) - log p(AB) - log p(BC)]`` follows by
  Monte Carlo over exact log-densities (a non-Gaussian case whose CMI has a
  bump in t: B alone stops telling the macrostate before B u C does).
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp


def gff_covariance(shape, mass: float, scale: float = 1.0) -> np.ndarray:
    """``scale**2`` times the periodic Gaussian-free-field covariance (library's exact FFT form)."""
    from ..datasets.gaussian_field import gaussian_field_covariance

    return scale**2 * gaussian_field_covariance(tuple(shape), mass)


def _logdet(S):
    return 0.0 if len(S) == 0 else np.linalg.slogdet(S)[1]


def gaussian_cmi(cov: np.ndarray, A, C, B) -> float:
    """Exact I(A;C|B) of a Gaussian with covariance ``cov`` (nats)."""
    A, B, C = (np.asarray(v, dtype=np.intp) for v in (A, B, C))

    def ld(ix):
        return _logdet(cov[np.ix_(ix, ix)])

    return 0.5 * (ld(np.r_[A, B]) + ld(np.r_[B, C]) - ld(B) - ld(np.r_[A, B, C]))


class MacrostateMixture:
    """``x_0 = s mu + y``, ``s = +-1`` (probability 1/2 each), ``y ~ N(0, cov0)``."""

    def __init__(self, cov0: np.ndarray, mu: np.ndarray):
        self.cov0 = np.asarray(cov0, float)
        self.mu = np.asarray(mu, float)

    def sample(self, n: int, rng) -> np.ndarray:
        rng = np.random.default_rng(rng)
        L = np.linalg.cholesky(self.cov0)
        s = rng.choice([-1.0, 1.0], size=n)
        return s[:, None] * self.mu[None] + rng.standard_normal((n, len(self.mu))) @ L.T

    def _logp(self, x, ix, alpha, cov_t):
        if len(ix) == 0:
            return np.zeros(len(x))
        S = cov_t[np.ix_(ix, ix)]
        L = np.linalg.cholesky(S)
        ld = 2 * np.log(np.diag(L)).sum()
        m = alpha * self.mu[ix]
        out = []
        for sgn in (1.0, -1.0):
            r = np.linalg.solve(L, (x[:, ix] - sgn * m).T)
            out.append(-0.5 * (r**2).sum(0) - 0.5 * ld - 0.5 * len(ix) * np.log(2 * np.pi))
        return logsumexp(np.stack(out), axis=0) - np.log(2)

    def cmi(self, path, t: float, A, C, B, n_mc: int = 20000, rng=0):
        """Monte Carlo ``(value, stderr)`` of I(A;C|B) for ``x_t`` from exact log-densities."""
        rng = np.random.default_rng(rng)
        alpha, sigma = float(path.alpha(t)), float(path.sigma(t))
        x = alpha * self.sample(n_mc, rng) + sigma * rng.standard_normal((n_mc, len(self.mu)))
        cov_t = alpha**2 * self.cov0 + sigma**2 * np.eye(len(self.mu))
        A, B, C = (np.asarray(v, dtype=np.intp) for v in (A, B, C))
        d = (self._logp(x, np.r_[A, B, C], alpha, cov_t) + self._logp(x, B, alpha, cov_t)
             - self._logp(x, np.r_[A, B], alpha, cov_t) - self._logp(x, np.r_[B, C], alpha, cov_t))
        return float(d.mean()), float(d.std(ddof=1) / np.sqrt(n_mc))
