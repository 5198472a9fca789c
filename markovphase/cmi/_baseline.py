"""The Gaussian baseline of the neural CMI estimator's density network; private.

For every (time, mask, target feature) the best *linear* predictor of the
standardised target from the visible context, and its residual scale, under the
Gaussian with the training rows' covariance moved along the path,

    C_t = D_t^-1 (alpha_t^2 Sigma_0 + sigma_t^2 I) D_t^-1        (standardised units)
    w   = (C_VV + ridge I)^-1 C_Va,    s^2 = C_aa - C_aV w,

``V`` the visible features. The network's mixture means are ``w . x_V`` plus
what it learns, its log-scales ``log s`` plus what it learns: at initialisation
the density is (close to) the exact Gaussian conditional, and the network only
has to learn what is not Gaussian. For Gaussian data that is nothing, so both
terms of I(A;C|B) are right from the start; for mixtures the linear part of the
far context (hundreds of pixels) comes for free instead of through the CNN's
strides.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg


def gaussian_baseline(X0_train, alpha, sigma, std, masks, prev, a_idx, ridge: float = 1e-4,
                      near=None):
    """Weights ``(T, M, d_A, D)`` and log residual scales ``(T, M, d_A)`` (float32).

    ``X0_train`` (n, D) clean training rows; ``alpha``, ``sigma`` (T,) the path at
    each time; ``std`` (T, D) the standardising scales; ``masks`` (M, D) and
    ``prev`` (d_A, D) 0/1 visibility of the context and of the preceding A
    features; ``a_idx`` (d_A,) the targets; ``near`` (D,) bool or None: only these
    features enter the regression (a plug-in regression on hundreds of features
    over-fits: its held-out residual variance is ~1/(1 - |V|/n) too large).
    """
    X0_train = np.asarray(X0_train, dtype=np.float64)
    cov0 = np.cov(X0_train, rowvar=False).reshape(X0_train.shape[1], X0_train.shape[1])
    T, D = len(alpha), X0_train.shape[1]
    M, dA = len(masks), len(a_idx)
    W = np.zeros((T, M, dA, D), dtype=np.float32)
    logs = np.zeros((T, M, dA), dtype=np.float32)
    masks, prev = np.asarray(masks) > 0, np.asarray(prev) > 0
    near = np.ones(D, bool) if near is None else np.asarray(near, bool)
    for ti in range(T):
        s = np.asarray(std[ti], dtype=np.float64)
        C = (alpha[ti] ** 2 * cov0 + sigma[ti] ** 2 * np.eye(D)) / np.outer(s, s)
        for mi in range(M):
            for j, a in enumerate(a_idx):
                V = np.flatnonzero((masks[mi] | prev[j]) & near)
                V = V[V != a]
                c_aa = C[a, a]
                if V.size == 0:
                    logs[ti, mi, j] = 0.5 * np.log(max(c_aa, 1e-8))
                    continue
                C_VV = C[np.ix_(V, V)] + ridge * np.eye(V.size)
                w = linalg.solve(C_VV, C[V, a], assume_a="pos", check_finite=False)
                W[ti, mi, j, V] = w
                logs[ti, mi, j] = 0.5 * np.log(max(c_aa - C[a, V] @ w, 1e-8))
    return W, logs
