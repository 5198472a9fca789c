r"""A noisy 1-D Ising chain: a hidden Markov model with exact subset log-densities.

Hidden spins ``s_i = +-1`` on a chain of ``length`` sites form a stationary
Markov chain with ``P(s_{i+1} = s_i) = (1 + tanh K) / 2`` (the 1-D Ising model
at coupling ``K = J / T``: correlation ``<s_i s_j> = tanh(K)^|i-j|``). The
clean value of a site is ``x_0 = amplitude * s + noise * eps``; along the path
``x_t = alpha x_0 + sigma z`` a site emits ``N(alpha * amplitude * s, v_t)``
with ``v_t = alpha^2 noise^2 + sigma^2``.

The density of any subset ``S = {i_1 < ... < i_m}`` of sites marginalises the
others exactly: between observed sites ``g`` steps apart the chain moves with
``P_g(same) = (1 + tanh(K)^g) / 2``, so the forward recursion

    f_1(s) = log 1/2 + log e(x_{i_1} | s)
    f_{j+1}(s') = logsumexp_s [f_j(s) + log P_{g_j}(s -> s')] + log e(x_{i_{j+1}} | s')

gives ``log p(x_S) = logsumexp_s f_m(s)`` (nats), vectorised over samples.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from ..cmi.base import result_from_terms
from ..lattice import Regions
from .cases import CalibrationCase, check_int, check_real

__all__ = ["HiddenIsingChain", "IsingChainCase"]

_LOG2PI = float(np.log(2.0 * np.pi))


class HiddenIsingChain:
    """The noisy Ising chain (see the module docstring); all methods are exact."""

    def __init__(self, length: int, coupling: float, amplitude: float, noise: float):
        self.length = int(length)
        self.coupling = float(coupling)
        self.amplitude = float(amplitude)
        self.noise = float(noise)

    def sample(self, n: int, random_state=None) -> np.ndarray:
        """``n`` clean chains ``amplitude * s + noise * eps``, shape (n, length)."""
        rng = check_random_state(random_state)
        flip = rng.random_sample((n, self.length - 1)) < (1 - np.tanh(self.coupling)) / 2
        s0 = rng.choice([-1.0, 1.0], size=(n, 1))
        s = s0 * np.cumprod(np.hstack([np.ones((n, 1)), np.where(flip, -1.0, 1.0)]), axis=1)
        return self.amplitude * s + self.noise * rng.standard_normal((n, self.length))

    def logpdf(self, X: np.ndarray, sites, alpha: float = 1.0, sigma: float = 0.0) -> np.ndarray:
        """Exact ``log p(x_S)`` at ``x_t = alpha x_0 + sigma z``; ``X`` holds all sites.

        Parameters
        ----------
        X : array of shape (n, length)
        sites : array of int
            The observed sites ``S`` (any order; empty gives 0).
        alpha, sigma : float
            The path coefficients at time t.
        """
        S = np.sort(np.asarray(sites, dtype=np.intp).ravel())
        n = len(X)
        if len(S) == 0:
            return np.zeros(n)
        m = alpha * self.amplitude
        v = alpha**2 * self.noise**2 + sigma**2
        if v <= 0:
            raise ValueError("the emission variance is 0 (noise=0 at t=0): densities undefined")
        x = X[:, S]
        base = -0.5 * (x**2 + m**2) / v - 0.5 * np.log(2 * np.pi * v)   # (n, m)
        h = x * (m / v)                                                 # +-h: the spin term
        lam = np.tanh(self.coupling)
        c = lam ** np.diff(S).astype(float)
        lstay, lflip = np.log((1 + c) / 2), np.log((1 - c) / 2)
        fp = np.log(0.5) + base[:, 0] + h[:, 0]
        fm = np.log(0.5) + base[:, 0] - h[:, 0]
        for j in range(1, len(S)):
            fp, fm = (np.logaddexp(fp + lstay[j - 1], fm + lflip[j - 1]) + base[:, j] + h[:, j],
                      np.logaddexp(fm + lstay[j - 1], fp + lflip[j - 1]) + base[:, j] - h[:, j])
        return np.logaddexp(fp, fm)

    def cmi(self, X: np.ndarray, regions, alpha: float, sigma: float) -> list:
        """``CMIResult`` per region: mean of ``log p(abc) + log p(b) - log p(ab) - log p(bc)``."""
        memo: dict[bytes, np.ndarray] = {}

        def lp(ix):
            ix = np.sort(np.asarray(ix, dtype=np.intp))
            key = ix.tobytes()
            if key not in memo:
                memo[key] = self.logpdf(X, ix, alpha, sigma)
            return memo[key]

        out = []
        for reg in regions:
            A, B, C = reg if isinstance(reg, Regions) else Regions(*reg)
            d = lp(np.r_[A, B, C]) + lp(B) - lp(np.r_[A, B]) - lp(np.r_[B, C])
            out.append(result_from_terms(d))
        return out


class IsingChainCase(CalibrationCase):
    """Noisy 1-D Ising chain (hidden Markov model), 729 sites: ``x_0 = amplitude s + noise eps``.

    A = the centre site, B(r) = the sites within distance r, C = the rest.

    Parameters
    ----------
    coupling : float, default=1.0
        ``K = J / T > 0``: spin correlation ``tanh(K)^d`` at distance d.
    amplitude : float, default=0.5
        Clean value of a spin (``+-amplitude``).
    noise : float, default=0.4
        Standard deviation of the clean per-site noise (>= 0).
    length : int, default=729
        Sites in the chain (>= 15).
    random_state : int or None, default=0
        Default seed of :meth:`sample_clean`.
    """

    name = "ising-chain"

    def __init__(self, coupling=1.0, amplitude=0.5, noise=0.4, length=729, random_state=0):
        self.coupling = check_real(coupling, "coupling", 0.0, 20.0)
        self.amplitude = check_real(amplitude, "amplitude", 0.0, 100.0)
        self.noise = check_real(noise, "noise", 0.0, 100.0, low_open=False)
        self.length = check_int(length, "length", 15, 100_000)
        self.random_state = random_state

    @property
    def lattice_shape(self):
        return (self.length,)

    @property
    def model(self) -> HiddenIsingChain:
        return HiddenIsingChain(self.length, self.coupling, self.amplitude, self.noise)

    def exact_cmi(self, times=(0.1, 0.3, 0.5, 0.7), radii=range(1, 7), path="linear",
                  n_mc: int = 20_000, random_state=None) -> pd.DataFrame:
        from ..diffusion import check_time, get_path

        radii = self.check_radii(radii)
        n_mc = check_int(n_mc, "n_mc", 2)
        p = get_path(path)
        rng = check_random_state(self._mc_seed(random_state))
        X0 = self.model.sample(n_mc, rng)
        Z = rng.standard_normal(X0.shape)
        regions = self.regions(radii)
        per_t = {}
        for t in np.atleast_1d(times):
            t = float(check_time(t, "times"))
            a, s = float(p.alpha(t)), float(p.sigma(t))
            per_t[t] = self.model.cmi(a * X0 + s * Z, regions, a, s)
        return self._table(per_t, radii)
