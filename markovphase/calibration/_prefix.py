"""Kernels of nested-prefix Gaussian log-densities (see :mod:`.mixture`); private.

Each kernel takes one component (mean, covariance) and rows already gathered
in prefix order (``Xo``: the blocks' columns in order, ``Xa``: A's columns)
and returns ``(ld, ld_a, quad, quad_a)``: the log-determinants of every
prefix ``P_i`` without and with A (shape (m+1,)) and the quadratic forms
``(x - mu)^T S^{-1} (x - mu)`` of each row on those subsets (shape (n, m+1);
``None`` when ``Xo`` is None). Block sums are small matrix products with the
block-indicator matrix, so the cost is one whitening per component.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import solve_triangular

#: rows per chunk (bounds memory to about chunk * n_features * 8 bytes per array)
CHUNK_ROWS = 4096


def block_indicator(ends: np.ndarray) -> np.ndarray:
    """``J[j, i] = 1`` when column ``j`` lies in the first ``i`` blocks (prefix sums by matmul)."""
    n = int(ends[-1])
    return (np.arange(n)[:, None] < ends[None, :]).astype(float)


def _chol_logdet(M: np.ndarray) -> float:
    return 2.0 * float(np.log(np.diag(np.linalg.cholesky(M))).sum()) if len(M) else 0.0


def full_prefix(S, mu, Xo, Xa, A, order, ends):
    """Kernel of a full covariance ``S``: one Cholesky of ``S[o, o]``, one whitening gemm."""
    dA = len(A)
    if len(order):
        L = np.linalg.cholesky(S[np.ix_(order, order)])
        LinvT = solve_triangular(L, np.eye(len(order)), lower=True, check_finite=False).T
        diag_ld = np.concatenate([[0.0], np.cumsum(2 * np.log(np.diag(L)))])
    else:
        LinvT, diag_ld = np.zeros((0, 0)), np.zeros(1)
    V = LinvT.T @ S[np.ix_(order, A)]                      # (|o|, dA)
    ld = diag_ld[ends]
    J = block_indicator(ends)
    cum_vv = np.einsum("ji,jp,jq->ipq", J, V, V)           # (m+1, dA, dA)
    cond = S[np.ix_(A, A)][None] - cum_vv
    cond_L = np.linalg.cholesky(cond) if dA else np.zeros((len(ends), 0, 0))
    cond_ld = np.array([2 * np.log(np.diag(c)).sum() for c in cond_L])
    ld_a = ld + cond_ld
    if Xo is None:
        return ld, ld_a, None, None
    # V placed per prefix: VJ[j, i*dA + a] = V[j, a] if j is in the first i blocks
    VJ = (J[:, :, None] * V[:, None, :]).reshape(len(order), len(ends) * dA)
    cond_inv = np.linalg.inv(cond_L) if dA else cond_L      # (m+1, dA, dA)
    mu_w = mu[order] @ LinvT
    n, m1 = len(Xo), len(ends)
    quad, quad_a = np.empty((n, m1)), np.empty((n, m1))
    for lo in range(0, n, CHUNK_ROWS):
        hi = min(n, lo + CHUNK_ROWS)
        W = Xo[lo:hi] @ LinvT
        W -= mu_w
        shift = (W @ VJ).reshape(hi - lo, m1, dA)          # E[x_A - mu_A | prefix] per row
        np.square(W, out=W)
        quad[lo:hi] = W @ J
        ra = (Xa[lo:hi] - mu[A])[:, None, :] - shift         # (c, m+1, dA)
        wa = np.einsum("ipq,niq->nip", cond_inv, ra)
        quad_a[lo:hi] = quad[lo:hi] + (wa**2).sum(-1)
    return ld, ld_a, quad, quad_a


def lowrank_prefix(d, F, mu, Xo, Xa, A, order, ends):
    """Kernel of ``F F^T + diag(d)`` (``q = 0``: diagonal) by Woodbury with prefix sums.

    ``M_i = I + G_{<=i}^T G_{<=i}`` with ``G = F / sqrt(d)``;
    ``quad = |r|^2 - u^T M^{-1} u`` with ``r = (x - mu)/sqrt(d)``, ``u = G^T r``;
    ``log det = sum log d + log det M``.
    """
    q = F.shape[1]
    so = np.sqrt(d[order])
    G = F[order] / so[:, None]                              # (|o|, q)
    Ga = F[A] / np.sqrt(d[A])[:, None]
    J = block_indicator(ends)
    M = np.eye(q)[None] + np.einsum("ji,jp,jq->ipq", J, G, G)   # (m+1, q, q)
    Ma = M + (Ga.T @ Ga)[None]
    logd = np.concatenate([[0.0], np.cumsum(np.log(d[order]))])[ends]
    ld = logd + np.array([_chol_logdet(m) for m in M])
    ld_a = logd + np.log(d[A]).sum() + np.array([_chol_logdet(m) for m in Ma])
    if Xo is None:
        return ld, ld_a, None, None
    Ci = np.linalg.inv(np.linalg.cholesky(M)) if q else M   # M^{-1} = Ci^T Ci
    Cai = np.linalg.inv(np.linalg.cholesky(Ma)) if q else Ma
    n, m1 = len(Xo), len(ends)
    quad, quad_a = np.empty((n, m1)), np.empty((n, m1))
    for lo in range(0, n, CHUNK_ROWS):
        hi = min(n, lo + CHUNK_ROWS)
        R = Xo[lo:hi] - mu[order]
        R /= so
        # u per prefix: cumulative sums of one (c, q) product per block
        U = np.zeros((m1, hi - lo, q))
        for i, (e0, e1) in enumerate(zip(ends[:-1], ends[1:], strict=True)):
            U[i + 1] = U[i] + R[:, e0:e1] @ G[e0:e1]
        np.square(R, out=R)
        cq = R @ J
        Ra = (Xa[lo:hi] - mu[A]) / np.sqrt(d[A])
        Ua = U + (Ra @ Ga)[None]
        quad[lo:hi] = cq - ((U @ Ci.transpose(0, 2, 1)) ** 2).sum(-1).T
        quad_a[lo:hi] = (cq + (Ra**2).sum(1)[:, None]
                         - ((Ua @ Cai.transpose(0, 2, 1)) ** 2).sum(-1).T)
    return ld, ld_a, quad, quad_a
