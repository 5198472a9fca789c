"""Gaussian (log-determinant) conditional mutual information: the exact path and its core.

For a Gaussian vector with covariance Σ,

.. math::

    I(A;C|B) = \\tfrac12\\,[\\log\\det\\Sigma_{AB} + \\log\\det\\Sigma_{BC}
               - \\log\\det\\Sigma_B - \\log\\det\\Sigma_{ABC}]
             = \\tfrac12\\,[\\log\\det\\Sigma_{A|B} - \\log\\det\\Sigma_{A|BC}]

in nats, with the Schur complements (conditional covariances)
``Σ_{A|S} = Σ_AA − Σ_AS Σ_SS⁻¹ Σ_SA``. Everything here uses the second form:
one Cholesky factor ``L`` of ``Σ_SS`` for the largest conditioning set of a
nested chain ``S_1 ⊂ S_2 ⊂ … ⊂ S_m`` (the features ordered so that each
``S_j`` is a prefix), one triangular solve ``W = L⁻¹ Σ_SA``, and
``Σ_{A|S_j} = Σ_AA − W[:|S_j|]ᵀ W[:|S_j|]`` (a prefix of a triangular solve
is the solve with the prefix block). The rings ``B(1) ⊂ B(2) ⊂ … ⊂ B ∪ C``
of a lattice form one chain, so a whole CMI(r) curve costs one Cholesky
factorisation. No matrix is ever inverted.

Zero-variance coordinates (for example MNIST border pixels that are always
0) carry no information: in the exact path (:func:`gaussian_cmi_from_covariance`,
:func:`gaussian_cmi_table`) a coordinate whose variance is at most
``tol · max(diag Σ)`` is dropped from A, B and C before the log-dets; when
every coordinate of A (or of C) is dropped, I = 0. The sample estimators
raise a clear error on constant columns unless ``drop_constant=True``.
A covariance that is singular in another way (exactly collinear coordinates)
raises a ``LinAlgError`` that suggests ``ridge`` (added to the diagonal).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, solve_triangular
from scipy.special import digamma

from ..diffusion import DEPRECATED, resolve_path
from .base import check_regions

__all__ = [
    "gaussian_cmi_from_covariance",
    "gaussian_cmi_table",
    "gaussian_cmi_path",
    "logdet_bias",
    "logdet_table",
]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _cholesky(S: np.ndarray, what: str) -> np.ndarray:
    """Lower Cholesky factor with a clear error for singular matrices."""
    if S.shape[0] == 0:
        return np.zeros((0, 0))
    try:
        return np.tril(cho_factor(S, lower=True, check_finite=False)[0])
    except LinAlgError:
        raise LinAlgError(
            f"the covariance of {what} ({S.shape[0]} coordinates) is singular: some coordinates "
            "are exact linear combinations of others; pass ridge > 0 (added to the diagonal) "
            "or drop them"
        ) from None


def _logdet_pd(S: np.ndarray, what: str) -> float:
    """log det of a small symmetric positive-definite matrix via Cholesky."""
    if S.shape[0] == 0:
        return 0.0
    L = _cholesky(S, what)
    return 2.0 * float(np.sum(np.log(np.diag(L))))


def _chains(sets: list[np.ndarray]) -> list[list[int]]:
    """Group conditioning sets into nested chains (each a subset of the next).

    Returns lists of positions into ``sets``, each sorted by size. Greedy:
    sets are visited from small to large and appended to the first chain
    whose current top is a subset.
    """
    order = sorted(range(len(sets)), key=lambda i: len(sets[i]))
    chains: list[list[int]] = []
    tops: list[set] = []
    for i in order:
        s = set(sets[i].tolist())
        for j, top in enumerate(tops):
            if top <= s:
                chains[j].append(i)
                tops[j] = s
                break
        else:
            chains.append([i])
            tops.append(s)
    return chains


def _chain_order(sets: list[np.ndarray], chain: list[int]) -> tuple[np.ndarray, list[int]]:
    """Feature order in which every set of the chain is a prefix, and the prefix sizes."""
    order: list[int] = []
    seen: set[int] = set()
    sizes = []
    for i in chain:
        for j in sets[i].tolist():
            if j not in seen:
                seen.add(j)
                order.append(j)
        sizes.append(len(order))
    return np.asarray(order, dtype=np.intp), sizes


def _conditional_logdets(cov: np.ndarray, A: np.ndarray, sets: list[np.ndarray], Xc=None):
    """``log det Σ_{A|S}`` for every conditioning set ``S`` (and residuals if ``Xc`` given).

    Returns ``(logdets, residual_quadratics)``: ``logdets[i]`` is a float;
    ``residual_quadratics[i]`` (only when the centred samples ``Xc`` are given)
    is the per-sample ``r_iᵀ Σ_{A|S_i}⁻¹ r_i`` with ``r_i = x_A − E[x_A | x_S]``.
    """
    logdets = [0.0] * len(sets)
    quads = [None] * len(sets) if Xc is not None else None
    S_AA = cov[np.ix_(A, A)]
    for chain in _chains(sets):
        order, sizes = _chain_order(sets, chain)
        L = _cholesky(cov[np.ix_(order, order)], "the conditioning set")
        W = solve_triangular(L, cov[np.ix_(order, A)], lower=True, check_finite=False)  # (p, dA)
        Z = None
        if Xc is not None and len(order):
            # whitened conditioning coordinates: Z = L^{-1} x_S per sample, (n, p)
            Z = solve_triangular(L, Xc[:, order].T, lower=True, check_finite=False).T
        for i, m in zip(chain, sizes, strict=True):
            Wm = W[:m]
            cond = S_AA - Wm.T @ Wm
            what = "A given the conditioning set"
            logdets[i] = _logdet_pd(cond, what)
            if Xc is not None:
                resid = Xc[:, A] - (Z[:, :m] @ Wm if m else 0.0)
                Lc = _cholesky(cond, what)
                u = solve_triangular(Lc, resid.T, lower=True, check_finite=False)
                quads[i] = np.einsum("ij,ij->j", u, u)
    return logdets, quads


def logdet_bias(p: int, nu: float) -> float:
    """``E[log det S] − log det Σ`` for a sample covariance with ``nu`` degrees of freedom.

    If ``nu · S ~ Wishart_p(nu, Σ)`` (``nu = n − 1`` when the mean is
    estimated), then

    .. math:: E[\\log\\det S] = \\log\\det\\Sigma + \\sum_{i=0}^{p-1}
              \\Big[\\psi\\Big(\\frac{\\nu - i}{2}\\Big) + \\log\\frac{2}{\\nu}\\Big]

    (Ahmed & Gokhale 1989; Misra, Singh & Demchuk 2005, "Estimation of the
    entropy of a multivariate normal distribution"), so ``log det S`` minus this
    is the unbiased (UMVU) estimate of ``log det Σ``. Needs ``nu > p − 1``.
    """
    if p == 0:
        return 0.0
    if nu <= p - 1:
        raise ValueError(f"the bias correction needs more samples than dimensions: p={p}, n-1={nu}")
    i = np.arange(p)
    return float(np.sum(digamma((nu - i) / 2.0)) + p * np.log(2.0 / nu))


def _nonzero_variance(cov: np.ndarray, ix: np.ndarray, tol: float) -> np.ndarray:
    d = np.diag(cov)
    scale = float(np.max(d)) if d.size else 0.0
    return ix[d[ix] > tol * scale]


def _check_cov(cov) -> np.ndarray:
    cov = np.asarray(cov, dtype=np.float64)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1]:
        raise ValueError(f"cov must be a square 2-D matrix, got shape {cov.shape}")
    if not np.all(np.isfinite(cov)):
        raise ValueError("cov contains NaN or inf; expected a finite covariance matrix")
    return cov


def logdet_table(cov, triples, *, tol, ridge, Xc=None, nu=None, bias=True):
    """Core of the exact and sample paths: CMI values (+ per-sample terms and dims).

    ``triples`` are checked ``(A, B, C)`` index arrays into ``cov``; with the
    centred samples ``Xc`` the per-sample terms are returned too, and with
    ``nu`` degrees of freedom and ``bias`` the Wishart bias of every log-det
    is subtracted (:func:`logdet_bias`). Returns ``(values, pointwise, dims)``.
    """
    if ridge:
        cov = cov + ridge * np.eye(len(cov))
    values = np.zeros(len(triples))
    pointwise: list[np.ndarray | None] = [None] * len(triples)
    dims: list[tuple[int, int, int]] = [(0, 0, 0)] * len(triples)
    # group triples by their (non-degenerate) A
    groups: dict[tuple, list[int]] = {}
    kept = []
    for k, (A, B, C) in enumerate(triples):
        A, B, C = (_nonzero_variance(cov, ix, tol) for ix in (A, B, C))
        kept.append((A, B, C))
        dims[k] = (A.size, B.size, C.size)
        if A.size == 0 or C.size == 0:
            if Xc is not None:
                pointwise[k] = np.zeros(Xc.shape[0])
            continue
        groups.setdefault(tuple(A.tolist()), []).append(k)
    for akey, ks in groups.items():
        A = np.asarray(akey, dtype=np.intp)
        sets, slots = [], {}
        for k in ks:
            _, B, C = kept[k]
            for s in (B, np.concatenate([B, C])):
                key = tuple(np.sort(s).tolist())
                if key not in slots:
                    slots[key] = len(sets)
                    sets.append(s)
        lds, quads = _conditional_logdets(cov, A, sets, Xc)
        for k in ks:
            _, B, C = kept[k]
            iB = slots[tuple(np.sort(B).tolist())]
            iBC = slots[tuple(np.sort(np.concatenate([B, C])).tolist())]
            values[k] = 0.5 * (lds[iB] - lds[iBC])
            if Xc is not None:
                pointwise[k] = values[k] + 0.5 * (quads[iB] - quads[iBC])
            if bias and nu is not None:
                dA, dB, dC = A.size, B.size, C.size
                corr = 0.5 * (
                    logdet_bias(dA + dB, nu)
                    + logdet_bias(dB + dC, nu)
                    - logdet_bias(dB, nu)
                    - logdet_bias(dA + dB + dC, nu)
                )
                values[k] -= corr
                if Xc is not None:
                    pointwise[k] = pointwise[k] - corr
    return values, pointwise, dims


# ---------------------------------------------------------------------------
# exact path
# ---------------------------------------------------------------------------
def gaussian_cmi_from_covariance(
    cov, A, C, B=(), *, tol: float = 1e-12, ridge: float = 0.0
) -> float:
    """Exact I(A;C|B) in nats of a Gaussian with covariance ``cov``.

    Parameters
    ----------
    cov : array-like of shape (p, p)
        Covariance matrix (symmetric positive semi-definite).
    A, C, B : array-like of int
        Disjoint feature indices; ``B`` may be empty (then I(A;C)).
    tol : float, default=1e-12
        Coordinates with variance ``<= tol * max(diag(cov))`` are dropped
        (they carry no information); when all of A or all of C is dropped the
        result is 0.
    ridge : float, default=0.0
        Added to the diagonal before factorising (for singular covariances).

    Returns
    -------
    float
        ``½[log det Σ_{A|B} − log det Σ_{A|BC}]``.
    """
    cov = _check_cov(cov)
    return float(gaussian_cmi_table(cov, [(A, B, C)], tol=tol, ridge=ridge)[0])


def gaussian_cmi_table(
    cov, regions_list: Sequence, *, tol: float = 1e-12, ridge: float = 0.0
) -> np.ndarray:
    """Exact I(A;C|B) (nats) for many triples of one covariance, sharing factorisations.

    Parameters
    ----------
    cov : array-like of shape (p, p)
    regions_list : sequence of Regions or (A, B, C) index triples
        Note the order ``(A, B, C)`` of :class:`~markovphase.lattice.Regions`.
        Triples with the same A and nested conditioning sets (the rings of a
        lattice) share one Cholesky factorisation.
    tol, ridge : float
        As in :func:`gaussian_cmi_from_covariance`.

    Returns
    -------
    ndarray of shape (len(regions_list),)
    """
    cov = _check_cov(cov)
    triples = check_regions(regions_list, cov.shape[0])
    return logdet_table(cov, triples, tol=tol, ridge=ridge)[0]


def gaussian_cmi_path(
    cov0,
    regions_list: Sequence,
    times,
    path="linear",
    *,
    tol: float = 1e-12,
    ridge: float = 0.0,
    schedule=DEPRECATED,
) -> np.ndarray:
    """Exact CMI of the noised Gaussian along a path, shape ``(len(times), len(regions))``.

    ``Σ_t = α(t)² Σ_0 + σ(t)² I`` (for the default ``linear`` path
    ``(1 − t)² Σ_0 + t² I``) from :func:`markovphase.diffusion.get_path`.
    Zero-variance coordinates of a singular clean ``Σ_0`` (t = 0) are dropped
    as described in :func:`gaussian_cmi_from_covariance`. ``schedule`` is the
    deprecated spelling of ``path`` (``FutureWarning``; removed in the next release).
    """
    cov0 = _check_cov(cov0)
    path = resolve_path(path, schedule, "gaussian_cmi_path")
    triples = check_regions(regions_list, cov0.shape[0])
    times = np.atleast_1d(np.asarray(times, dtype=np.float64))
    return np.stack([logdet_table(path.covariance(cov0, float(t)), triples, tol=tol,
                                  ridge=ridge)[0] for t in times])
