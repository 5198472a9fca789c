"""Gaussian (log-determinant) estimate of I(A;C|B) from samples, in nats.

``Î = ½[log det S_AB + log det S_BC − log det S_B − log det S_ABC]`` of the
sample covariance ``S``, computed through Cholesky factors of nested
conditioning sets and corrected for the Wishart bias of each log-det; the
exact path for a known covariance (``gaussian_cmi_from_covariance``,
``gaussian_cmi_table``, ``gaussian_cmi_path``) and the shared core live in
:mod:`markovphase.cmi.logdet` (re-exported here).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..lattice import Lattice, Regions
from ..params import store_params
from .base import CMIEstimator, CMIResult, as_2d, check_regions, check_triple
from .logdet import (
    gaussian_cmi_from_covariance,
    gaussian_cmi_path,
    gaussian_cmi_table,
    logdet_bias,
    logdet_table,
)

__all__ = [
    "GaussianCMI",
    "gaussian_cmi_from_covariance",
    "gaussian_cmi_table",
    "gaussian_cmi_path",
    "logdet_bias",
]


def _constant_columns(X: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.ptp(X, axis=0) == 0) if X.shape[1] else np.empty(0, np.intp)


class GaussianCMI(CMIEstimator):
    """Gaussian (log-det) estimate of I(A;C|B) from samples, in nats.

    The sample covariance ``S`` (``ddof=1``) of the joint vector gives
    ``Î = ½[log det S_AB + log det S_BC − log det S_B − log det S_ABC]``
    (computed as ``½[log det S_{A|B} − log det S_{A|BC}]`` through Cholesky
    factors, see :mod:`markovphase.cmi.logdet`).

    Parameters
    ----------
    bias_correction : bool, default=True
        Subtract the exact small-sample bias of every Gaussian log-det,
        ``Σ_{i<p}[ψ((n−1−i)/2) + log(2/(n−1))]`` (:func:`logdet_bias`), so the
        estimate is unbiased for Gaussian data. Needs ``n > p_ABC + 1``.
    ridge : float, default=0.0
        Added to the diagonal of the sample covariance (regularises
        collinear coordinates; biases the estimate towards 0).
    drop_constant : bool, default=False
        Constant columns raise a ``ValueError`` by default. With ``True`` they
        are dropped (a constant carries no information; when all of A or all
        of C is constant the estimate is exactly 0 with stderr 0).

    Notes
    -----
    *Pointwise terms* (``CMIResult.pointwise``) are the fitted log density
    ratios ``log p̂(a|b,c) − log p̂(a|b)`` per sample, minus the same bias
    correction; their mean is exactly ``value``.

    *Standard error*: ``stderr² = var(pointwise)/n + d_A d_C / (2 n²)``. The
    first term is the delta-method (influence-function) variance — for the
    log-det functional the influence function of a sample is its centred
    pointwise term ``½ xᵀ M x``, ``M = P_AB + P_BC − P_B − P_ABC`` (``P_S`` the
    embedded ``Σ_S⁻¹``), whose Gaussian variance is ``½ tr((MΣ)²)``; using the
    empirical variance keeps it valid for non-Gaussian data (sandwich form).
    It vanishes at I = 0, where the estimator is instead distributed as
    ``χ²_{d_A d_C}/(2n)`` (Wilks); the second term is that variance, so the
    stderr stays honest near 0.
    """

    has_pointwise = True
    #: a sample covariance needs at least 3 rows to have a bias-corrected log-det
    min_samples = 3

    def __init__(
        self, bias_correction: bool = True, ridge: float = 0.0, drop_constant: bool = False
    ):
        store_params(self, locals())

    # -- validation ---------------------------------------------------------
    def _check_params(self):
        if not isinstance(self.ridge, (int, float, np.floating, np.integer)) or self.ridge < 0:
            raise ValueError(f"ridge={self.ridge!r} must be a non-negative number")

    def _check(self, A, C, B):
        return check_triple(A, C, B, min_samples=self.min_samples,
                            allow_constant=bool(self.drop_constant))

    def _transform(self, X: np.ndarray) -> np.ndarray:
        """Hook for subclasses (the copula estimator maps to normal scores)."""
        return X

    # -- estimation ---------------------------------------------------------
    def _evaluate(self, A, C, B) -> CMIResult:
        X = np.hstack([A, B, C])
        dA, dB = A.shape[1], B.shape[1]
        p = X.shape[1]
        reg = Regions(np.arange(dA), np.arange(dA, dA + dB), np.arange(dA + dB, p))
        return self._evaluate_matrix(X, [reg])[0]

    def evaluate_regions(
        self, X, regions: Sequence[Regions], lattice: Lattice | None = None
    ) -> list[CMIResult]:
        """I(A;C|B) for many triples of one sample matrix, sharing the covariance.

        The sample covariance of all used columns is computed once; triples
        with the same A and nested B ⊂ B ∪ C (lattice rings) share one
        Cholesky factorisation (see the module docstring).
        """
        X = as_2d(X, "X")
        triples = check_regions(regions, X.shape[1])
        if X.shape[0] < 3:
            raise ValueError(f"got {X.shape[0]} samples; this estimator needs at least 3")
        if not self.drop_constant:
            const = _constant_columns(
                X[:, np.unique(np.concatenate([np.concatenate(t) for t in triples]))]
            )
            if len(const):
                raise ValueError(
                    f"X has {len(const)} constant column(s) among the regions: a constant variable "
                    "carries no information and makes the estimate undefined; drop them or pass "
                    "drop_constant=True"
                )
        return self._evaluate_matrix(X, triples)

    def _evaluate_matrix(self, X: np.ndarray, triples) -> list[CMIResult]:
        self._check_params()
        used = np.unique(np.concatenate([np.concatenate(t) for t in triples]))
        remap = np.full(X.shape[1], -1, dtype=np.intp)
        remap[used] = np.arange(used.size)
        Xu = self._transform(X[:, used])
        n = Xu.shape[0]
        Xc = Xu - Xu.mean(axis=0)
        const = np.ptp(Xu, axis=0) == 0
        Xc[:, const] = 0.0
        cov = (Xc.T @ Xc) / (n - 1)
        local = [tuple(remap[ix] for ix in t) for t in triples]
        nu = float(n - 1)
        max_p = max(sum(ix.size for ix in t) for t in local)
        if self.bias_correction and nu <= max_p:
            raise ValueError(
                f"the bias-corrected Gaussian estimate needs more samples than dimensions: "
                f"n_samples={n}, joint dimension {max_p}; pass more samples or "
                "bias_correction=False"
            )
        # constant columns have exactly zero sample variance: tol=0 drops exactly those
        values, pw, dims = logdet_table(
            cov,
            local,
            tol=0.0,
            ridge=float(self.ridge),
            Xc=Xc,
            nu=nu,
            bias=bool(self.bias_correction),
        )
        out = []
        for v, w, (dA, _, dC) in zip(values, pw, dims, strict=True):
            if dA == 0 or dC == 0:
                out.append(CMIResult(0.0, 0.0, np.zeros(n), n))
                continue
            se = float(np.sqrt(np.var(w, ddof=1) / n + dA * dC / (2.0 * n * n)))
            out.append(CMIResult(float(v), se, w, n))
        return out
