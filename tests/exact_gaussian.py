"""Exact Gaussian CMI written independently of the package (a test oracle)."""

import numpy as np


def logdet(S):
    sign, val = np.linalg.slogdet(S)
    assert sign > 0
    return val


def exact_cmi(cov, A, C, B):
    """I(A;C|B) = 1/2 [log|S_AB| + log|S_BC| - log|S_B| - log|S_ABC|] in nats."""
    A, B, C = (np.asarray(i, int) for i in (A, B, C))
    AB, BC, ABC = np.r_[A, B], np.r_[B, C], np.r_[A, B, C]
    sub = lambda idx: cov[np.ix_(idx, idx)]  # noqa: E731
    ld_b = logdet(sub(B)) if len(B) else 0.0
    return 0.5 * (logdet(sub(AB)) + logdet(sub(BC)) - ld_b - logdet(sub(ABC)))


def linear_path_cov(cov0, t):
    return (1 - t) ** 2 * cov0 + t**2 * np.eye(len(cov0))
