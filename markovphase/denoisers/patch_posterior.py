"""The empirical patch-posterior denoiser (Kamb & Ganguli's LS / ELS machines): no training.

Around site p, the training patches ``y`` of side ``2r + 1`` are weighted by
``softmax_y(-|x_Omega - alpha y_Omega|^2 / (2 sigma^2))`` and the estimate of
x0 at p is the weighted mean of the patch centres ``y_p``. The plain variant
uses the training patches at the same position (LS machine); with
``equivariant=True`` patches from every position are pooled (ELS machine,
translation equivariant). Open borders are zero padded (in x and y alike),
periodic ones wrap.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.special import logsumexp
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..diffusion import DEPRECATED
from .base import CHUNK, ClosedFormDenoiser, check_radius, store_params

__all__ = ["PatchPosteriorDenoiser"]


class PatchPosteriorDenoiser(ClosedFormDenoiser):
    """Empirical patch-posterior denoiser (Kamb & Ganguli's LS / ELS machine).

    Parameters
    ----------
    lattice_shape, radius, n_channels, periodic, path, eval_times, transform_t, schedule
        As for :class:`~markovphase.denoisers.LinearLocalDenoiser`; ``radius``
        must be an integer (patch side ``2 r + 1``).
    equivariant : bool, default=False
        Pool the training patches of every position (ELS) instead of using the
        patches at the same position (LS).
    max_patches : int or None, default=None
        With ``equivariant=True``, keep at most this many pooled patches
        (a random subset, seeded by ``random_state``).
    random_state : int, RandomState or None, default=None

    Attributes
    ----------
    Y_ : ndarray of shape (n_train, n_features)
        The training rows.
    bank_ : ndarray of shape (n_patches, patch_size) or None
        Pooled patches (equivariant variant); ``bank_centres_`` their centres.
    """

    def __init__(self, lattice_shape=None, radius=1, n_channels=1, periodic=False,
                 path="linear", equivariant=False, max_patches=None,
                 eval_times=(0.1, 0.3, 0.5, 0.7, 0.9), transform_t=0.5, random_state=None,
                 schedule=DEPRECATED):
        store_params(self, locals())

    def _window_view(self, X: np.ndarray) -> np.ndarray:
        """Zero-copy view ``(n, *shape, k, *window)`` of the side-(2r+1) patches of ``X``."""
        lat, r = self.lattice_, int(self.radius)
        g = X.reshape(len(X), *lat.shape, lat.n_channels)
        pad = [(0, 0)] + [(r, r)] * lat.ndim + [(0, 0)]
        g = np.pad(g, pad, mode="wrap" if lat.periodic else "constant")
        return sliding_window_view(g, (2 * r + 1,) * lat.ndim, axis=tuple(range(1, lat.ndim + 1)))

    def _flat(self, w: np.ndarray) -> np.ndarray:
        """``(n, *sites, k, *window)`` -> ``(n, n_positions, patch_size)`` (window..., k order)."""
        lat = self.lattice_
        size = lat.n_channels * (2 * int(self.radius) + 1) ** lat.ndim
        return np.moveaxis(w, lat.ndim + 1, -1).reshape(w.shape[0], -1, size)

    def fit(self, X, y=None):
        """Store the training rows (and the pooled patch bank when ``equivariant``)."""
        X = self._fit_common(X)
        check_radius(self.radius, allow_none=False)
        self.Y_ = X.copy()
        lat = self.lattice_
        self.bank_ = self.bank_centres_ = None
        if self.equivariant:
            total = len(X) * lat.n_sites
            keep = np.arange(total)
            if self.max_patches is not None:
                if not isinstance(self.max_patches, numbers.Integral) or self.max_patches < 1:
                    raise ValueError(f"max_patches={self.max_patches!r} must be an integer "
                                     ">= 1 or None")
                if total > self.max_patches:
                    keep = np.sort(check_random_state(self.random_state).choice(
                        total, self.max_patches, replace=False))
            row, site = np.divmod(keep, lat.n_sites)
            coords = np.unravel_index(site, lat.shape)
            w = self._window_view(X)[(row, *coords)]  # (m, k, *window): copies only the kept
            self.bank_ = np.ascontiguousarray(np.moveaxis(w, 1, -1).reshape(len(keep), -1))
            self.bank_centres_ = X.reshape(total, lat.n_channels)[keep]
        return self

    @staticmethod
    def _posterior_mean(xp, yp, yc, a, s):
        """Softmax-weighted centres: xp (.., n, M), yp (.., N, M), yc (.., N, k) -> (.., n, k)."""
        d2 = (np.sum(xp**2, -1)[..., :, None] - 2 * a * xp @ np.swapaxes(yp, -1, -2)
              + a * a * np.sum(yp**2, -1)[..., None, :])
        logits = -d2 / (2 * s * s)
        w = np.exp(logits - logsumexp(logits, axis=-1, keepdims=True))
        return w @ yc

    def _denoise(self, X: np.ndarray, t: float) -> np.ndarray:
        a, s = self._alpha_sigma(t)
        if s == 0:
            return X / a
        lat = self.lattice_
        k, S = lat.n_channels, lat.n_sites
        wx = self._window_view(X)
        if self.equivariant:
            flat = self._flat(wx).reshape(len(X) * S, -1)
            res = np.empty((len(flat), k))
            step = max(1, CHUNK // len(self.bank_))
            for i in range(0, len(flat), step):
                res[i:i + step] = self._posterior_mean(flat[i:i + step], self.bank_,
                                                       self.bank_centres_, a, s)
            return res.reshape(len(X), -1)
        wy = self._window_view(self.Y_)
        out = np.empty((len(X), S, k))
        Yc = self.Y_.reshape(len(self.Y_), S, k)
        per_row = S // lat.shape[0]  # positions per index of the first axis
        rows = max(1, CHUNK // max(1, len(X) * len(self.Y_) * per_row))
        for i in range(0, lat.shape[0], rows):
            sl = slice(i * per_row, min(i + rows, lat.shape[0]) * per_row)
            xp = np.moveaxis(self._flat(wx[:, i:i + rows]), 1, 0)   # (s, n, M)
            yp = np.moveaxis(self._flat(wy[:, i:i + rows]), 1, 0)   # (s, N, M)
            yc = np.moveaxis(Yc[:, sl], 1, 0)                       # (s, N, k)
            out[:, sl] = np.moveaxis(self._posterior_mean(xp, yp, yc, a, s), 0, 1)
        return out.reshape(len(X), -1)

    def flops(self, n_samples: int, t: float) -> float:
        """FLOPs of one ``denoise`` call on ``n_samples`` rows at ``t`` (a multiply-add is 2).

        With ``N`` reference patches of ``M`` values per site and ``S`` sites: per
        row and site ``N (2 M + 4 + 2 k) + 2 M``, plus the norms of the reference
        patches once per call (``2 N M`` for the pooled bank, ``2 N M S`` for the
        per-position patches). At ``sigma = 0`` the estimate is ``x / alpha``: ``n d``.
        """
        check_is_fitted(self)
        lat = self.lattice_
        k, S = lat.n_channels, lat.n_sites
        M = (2 * int(self.radius) + 1) ** lat.ndim * k
        if self._alpha_sigma(t)[1] == 0:
            return float(n_samples * lat.n_features)
        if self.bank_ is not None:
            N, norms = len(self.bank_), 2.0 * len(self.bank_) * M
        else:
            N = len(self.Y_)
            norms = 2.0 * N * M * S
        return float(n_samples * S * (N * (2 * M + 4 + 2 * k) + 2 * M) + norms)
