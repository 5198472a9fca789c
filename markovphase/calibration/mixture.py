r"""Gaussian mixtures along a forward path: exact subset log-densities.

A mixture ``p(x) = sum_k w_k N(x; mu_k, Sigma_k)`` noised along
``x_t = alpha(t) x_0 + sigma(t) z`` is again a mixture with means
``alpha mu_k`` and covariances ``alpha^2 Sigma_k + sigma^2 I``, and the
marginal of any feature subset ``S`` is the mixture of the sub-blocks
``N(mu_k[S], Sigma_k[S, S])``. So every subset log-density of the noised data
is exact (a log-sum-exp over components).

Covariance forms (``covariance_type``):

* ``"spherical"`` — ``Sigma_k = v_k I`` (``covariances`` shape ``(K,)``);
* ``"diag"`` — ``Sigma_k = diag(d_k)`` (``(K, D)``);
* ``"full"`` — ``(K, D, D)``;
* ``"lowrank"`` — ``Sigma_k = F_k F_k^T + diag(d_k)`` (``factors`` ``(K, D, q)``,
  ``covariances`` the diagonal ``(K, D)``): a mixture of factor analysers.

Nested subsets in one pass (:meth:`GaussianMixtureModel.prefix_logpdfs`): for
``blocks = [b_1, ..., b_m]`` the subsets ``P_i = b_1 u ... u b_i`` and
``A u P_i`` (``i = 0..m``) all come from ONE whitening per component. Full
covariances: with ``L`` the Cholesky factor of ``Sigma[o, o]`` (``o`` the
blocks in order), ``w = L^{-1}(x_o - mu_o)`` and ``V = L^{-1} Sigma[o, A]``,

    log N(x_{P_i}) = -1/2 (sum_{j<=n_i} w_j^2 + 2 sum_{j<=n_i} log L_jj + n_i log 2 pi)
    x_A | x_{P_i} ~ N(mu_A + V_{<=n_i}^T w_{<=n_i},  Sigma_AA - V_{<=n_i}^T V_{<=n_i}),

the leading block of a Cholesky factor being the factor of the leading block.
Low-rank covariances use the Woodbury identity with prefix sums
(``M_i = I + sum_{j<=n_i} F_j F_j^T / d_j``). Cost per component:
``O(n |o|^2)`` (full) or ``O(n |o| q)`` (low rank), whatever the number of
blocks. Log-densities are in nats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp
from sklearn.utils import check_random_state

from ._prefix import full_prefix, lowrank_prefix

__all__ = ["GaussianMixtureModel", "COVARIANCE_TYPES"]

COVARIANCE_TYPES = ("spherical", "diag", "full", "lowrank")
_LOG2PI = float(np.log(2.0 * np.pi))


def _as_index(ix, name: str) -> np.ndarray:
    arr = np.asarray(ix, dtype=np.intp).ravel()
    return arr


@dataclass(frozen=True, eq=False)
class GaussianMixtureModel:
    """``sum_k w_k N(mu_k, Sigma_k)`` with exact subset log-densities along a path.

    Parameters
    ----------
    weights : array of shape (K,)
        Non-negative, summing to 1.
    means : array of shape (K, D)
    covariances : array
        ``(K,)`` spherical variances, ``(K, D)`` diagonals (also the diagonal
        part of ``"lowrank"``) or ``(K, D, D)`` full matrices.
    covariance_type : {"spherical", "diag", "full", "lowrank"}
    factors : array of shape (K, D, q) or None
        Loadings ``F_k`` of ``"lowrank"`` (``Sigma_k = F_k F_k^T + diag(d_k)``).
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    covariance_type: str = "full"
    factors: np.ndarray | None = None

    def __post_init__(self):
        ct = self.covariance_type
        if ct not in COVARIANCE_TYPES:
            raise ValueError(f"covariance_type={ct!r}; expected one of {COVARIANCE_TYPES}")
        w = np.asarray(self.weights, dtype=float).ravel()
        mu = np.asarray(self.means, dtype=float)
        if mu.ndim != 2 or mu.shape[0] != len(w) or len(w) == 0:
            raise ValueError(f"means must have shape (n_components={len(w)}, n_features), "
                             f"got {mu.shape}")
        if np.any(w < 0) or not np.isclose(w.sum(), 1.0) or not np.all(np.isfinite(w)):
            raise ValueError(f"weights must be non-negative and sum to 1, got sum {w.sum()!r}")
        K, D = mu.shape
        cov = np.asarray(self.covariances, dtype=float)
        want = {"spherical": (K,), "diag": (K, D), "lowrank": (K, D), "full": (K, D, D)}[ct]
        if cov.shape != want:
            raise ValueError(f"covariances of a {ct!r} mixture must have shape {want}, "
                             f"got {cov.shape}")
        if ct in ("spherical", "diag", "lowrank") and not np.all(cov > 0):
            raise ValueError("covariances (variances) must be > 0")
        F = None
        if ct == "lowrank":
            F = np.asarray(self.factors if self.factors is not None else np.zeros((K, D, 0)),
                           dtype=float)
            if F.ndim != 3 or F.shape[:2] != (K, D):
                raise ValueError(f"factors must have shape ({K}, {D}, q), got {F.shape}")
        elif self.factors is not None:
            raise ValueError(f"factors are only used with covariance_type='lowrank', not {ct!r}")
        for name, val in (("weights", w), ("means", mu), ("covariances", cov), ("factors", F)):
            object.__setattr__(self, name, val)

    # -- shape ----------------------------------------------------------------
    @property
    def n_components(self) -> int:
        return len(self.weights)

    @property
    def n_features(self) -> int:
        return self.means.shape[1]

    def component_covariance(self, k: int) -> np.ndarray:
        """The covariance ``Sigma_k`` of component ``k`` as a dense (D, D) matrix, whatever
        the ``covariance_type`` (``F_k F_k^T + diag(d_k)`` for ``"lowrank"``)."""
        ct, c = self.covariance_type, self.covariances[k]
        if ct == "full":
            return c
        if ct == "spherical":
            return c * np.eye(self.n_features)
        out = np.diag(c)
        if ct == "lowrank":
            out = out + self.factors[k] @ self.factors[k].T
        return out

    # -- the path -------------------------------------------------------------
    def scaled(self, alpha: float, sigma: float) -> GaussianMixtureModel:
        """The law of ``alpha x + sigma z``: means ``alpha mu``, covariances
        ``alpha^2 Sigma + sigma^2 I``."""
        alpha, sigma = float(alpha), float(sigma)
        ct = self.covariance_type
        if ct == "full":
            cov = alpha**2 * self.covariances
            idx = np.arange(self.n_features)
            cov[:, idx, idx] += sigma**2
        else:
            cov = alpha**2 * self.covariances + sigma**2
        F = None if self.factors is None else alpha * self.factors
        return GaussianMixtureModel(self.weights, alpha * self.means, cov, ct, F)

    def noised(self, path, t: float) -> GaussianMixtureModel:
        """The mixture at time ``t`` of ``path`` (a name or a ``DiffusionPath``)."""
        from ..diffusion import check_time, get_path

        p = get_path(path)
        t = check_time(t)
        return self.scaled(p.alpha(t), p.sigma(t))

    def subset(self, features) -> GaussianMixtureModel:
        """The marginal mixture of the columns ``features`` (in that order)."""
        S = _as_index(features, "features")
        ct = self.covariance_type
        if ct == "full":
            cov = self.covariances[:, S][:, :, S]
        elif ct == "spherical":
            cov = self.covariances
        else:
            cov = self.covariances[:, S]
        F = None if self.factors is None else self.factors[:, S]
        return GaussianMixtureModel(self.weights, self.means[:, S], cov, ct, F)

    # -- sampling -------------------------------------------------------------
    def sample(self, n_samples: int, random_state=None, return_labels: bool = False):
        """``n_samples`` rows from the mixture (labels ``k`` drawn with the weights)."""
        rng = check_random_state(random_state)
        labels = rng.choice(self.n_components, size=int(n_samples), p=self.weights)
        X = np.empty((int(n_samples), self.n_features))
        for k in range(self.n_components):
            rows = np.flatnonzero(labels == k)
            if not len(rows):
                continue
            eps = rng.standard_normal((len(rows), self.n_features))
            ct, c = self.covariance_type, self.covariances[k]
            if ct == "full":
                eps = eps @ np.linalg.cholesky(c).T
            else:
                eps = eps * np.sqrt(c)
                q = 0 if self.factors is None else self.factors.shape[2]
                if q:
                    eps += rng.standard_normal((len(rows), q)) @ self.factors[k].T
            X[rows] = self.means[k] + eps
        return (X, labels) if return_labels else X

    # -- log-densities --------------------------------------------------------
    def _component_prefix(self, k, Xo, Xa, A, order, ends):
        """``(ld, ld_a, quad, quad_a)`` of component ``k`` (see :mod:`._prefix`)."""
        mu = self.means[k]
        if self.covariance_type == "full":
            return full_prefix(self.covariances[k], mu, Xo, Xa, A, order, ends)
        d = self.covariances[k]
        d = np.full(self.n_features, d) if self.covariance_type == "spherical" else d
        F = self.factors[k] if self.factors is not None else np.zeros((self.n_features, 0))
        return lowrank_prefix(d, F, mu, Xo, Xa, A, order, ends)

    @staticmethod
    def _plan(A, blocks):
        A = _as_index(A, "A")
        blocks = [_as_index(b, "blocks") for b in blocks]
        order = np.concatenate(blocks) if blocks else np.empty(0, dtype=np.intp)
        ends = np.concatenate([[0], np.cumsum([len(b) for b in blocks])]).astype(np.intp)
        return A, order, ends

    def prefix_logpdfs(self, X, A, blocks) -> tuple[np.ndarray, np.ndarray]:
        """Exact ``log p(x_{P_i})`` and ``log p(x_A, x_{P_i})`` for the nested prefixes.

        Parameters
        ----------
        X : array of shape (n, D)
            Full rows (only the columns of ``A`` and ``blocks`` are read).
        A : array of int
            Features of A (may be empty).
        blocks : list of arrays of int
            Disjoint feature blocks; ``P_i`` is the union of the first ``i``.

        Returns
        -------
        lp, lp_a : arrays of shape (n, len(blocks) + 1)
            Log-densities (nats) of ``P_0 = {}, P_1, ..., P_m`` without and with A.
        """
        A, order, ends = self._plan(A, blocks)
        X = np.asarray(X, dtype=float)
        Xo, Xa = np.ascontiguousarray(X[:, order]), X[:, A]
        size = ends.astype(float)
        comp, comp_a = [], []
        for k in range(self.n_components):
            ld, ld_a, quad, quad_a = self._component_prefix(k, Xo, Xa, A, order, ends)
            comp.append(-0.5 * (quad + ld + size * _LOG2PI))
            comp_a.append(-0.5 * (quad_a + ld_a + (size + len(A)) * _LOG2PI))
        with np.errstate(divide="ignore"):
            logw = np.log(self.weights)[:, None, None]
        return (logsumexp(np.stack(comp) + logw, axis=0),
                logsumexp(np.stack(comp_a) + logw, axis=0))

    def prefix_logdets(self, A, blocks) -> tuple[np.ndarray, np.ndarray]:
        """``log det Sigma[P_i]`` and ``log det Sigma[A u P_i]`` of a one-component model.

        The expected log-density of a Gaussian is ``-1/2 (|S| (1 + log 2 pi) + log det)``,
        so a one-component model needs no Monte Carlo.
        """
        if self.n_components != 1:
            raise ValueError(f"prefix_logdets needs one component, got {self.n_components}")
        A, order, ends = self._plan(A, blocks)
        ld, ld_a, _, _ = self._component_prefix(0, None, None, A, order, ends)
        return ld, ld_a

    def logpdf(self, X, features=None) -> np.ndarray:
        """Exact ``log p(x_S)`` per row, ``X`` holding the columns ``features`` (default all)."""
        X = np.asarray(X, dtype=float)
        S = np.arange(self.n_features) if features is None else _as_index(features, "features")
        if X.ndim != 2 or X.shape[1] != len(S):
            raise ValueError(f"X has shape {X.shape}; expected (n_samples, {len(S)}) columns")
        full = np.zeros((len(X), self.n_features))
        full[:, S] = X
        return self.prefix_logpdfs(full, [], [S])[0][:, -1]
