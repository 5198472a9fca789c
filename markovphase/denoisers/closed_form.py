"""Closed-form local denoisers (no training), with the interface of :class:`LocalDenoiser`.

* :class:`LinearLocalDenoiser` — the optimal local *linear* (Wiener) denoiser.
  With ``Omega`` the sites within L-infinity distance ``r`` of site ``p``
  (:meth:`markovphase.lattice.Lattice.distances`), mean ``mu`` and clean
  covariance ``Sigma``, at time t (``x_t = alpha x0 + sigma z``)::

      K      = alpha^2 Sigma_{Omega Omega} + sigma^2 I
      D_p(x) = mu_p + alpha Sigma_{p Omega} K^{-1} (x_Omega - alpha mu_Omega)
      MSE_p  = Sigma_pp - alpha^2 Sigma_{p Omega} K^{-1} Sigma_{Omega p}

  ``MSE_p`` is the exact mean squared error (data units squared) of this
  denoiser for any distribution with that mean and covariance, and the
  Bayes-optimal radius-r MSE for Gaussian data. ``radius=None`` uses every
  site (the global Wiener filter). Solved by Cholesky (``scipy.linalg``,
  batched over the sites whose neighbourhoods have the same size).
* :class:`PatchPosteriorDenoiser` — the empirical patch posterior (the "local
  score machine" of Kamb & Ganguli, 2024): around site p, the training
  patches ``y`` of side ``2r + 1`` are weighted by
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
from scipy import linalg
from scipy.special import logsumexp
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .base import BaseDenoiser, check_radius

__all__ = ["LinearLocalDenoiser", "PatchPosteriorDenoiser", "site_distances"]

_CHUNK = 2_000_000  # elements per intermediate array


def site_distances(lattice) -> np.ndarray:
    """Chebyshev distances between all pairs of sites, ``(n_sites, n_sites)``.

    Row ``i`` is ``lattice.distances(site_i).ravel()`` (wrapped when periodic).
    """
    sites = np.array(np.unravel_index(np.arange(lattice.n_sites), lattice.shape)).T
    return np.stack([lattice.distances(tuple(int(c) for c in s)).ravel().astype(np.int32)
                     for s in sites])


class LinearLocalDenoiser(BaseDenoiser):
    """Optimal local linear (Wiener) denoiser of receptive radius ``radius``.

    Parameters
    ----------
    lattice_shape : tuple of int or None, default=None
        Spatial shape; ``None`` = a 1-D chain of all features.
    radius : int or None, default=1
        L-infinity radius of the neighbourhood Omega; ``None`` = all sites (global).
    n_channels : int, default=1
    periodic : bool, default=False
    schedule : str or DiffusionPath, default="linear"
    covariance : ndarray of shape (n_features, n_features) or None, default=None
        The clean covariance to use (e.g. the exact one of a Gaussian field);
        ``None`` estimates it from the training rows (unbiased sample covariance).
    mean : ndarray of shape (n_features,) or None, default=None
        The clean mean to use; ``None`` takes the sample mean.
    eval_times : sequence of float, default=(0.1, 0.3, 0.5, 0.7, 0.9)
    transform_t : float, default=0.5
    random_state : int, RandomState or None, default=None
        Seeds the scoring noise only.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
    covariance_ : ndarray of shape (n_features, n_features)
    lattice_, path_, n_features_in_
    """

    def __init__(self, lattice_shape=None, radius=1, n_channels=1, periodic=False,
                 schedule="linear", covariance=None, mean=None,
                 eval_times=(0.1, 0.3, 0.5, 0.7, 0.9), transform_t=0.5, random_state=None):
        self.lattice_shape = lattice_shape
        self.radius = radius
        self.n_channels = n_channels
        self.periodic = periodic
        self.schedule = schedule
        self.covariance = covariance
        self.mean = mean
        self.eval_times = eval_times
        self.transform_t = transform_t
        self.random_state = random_state

    def fit(self, X, y=None):
        """Mean and covariance of the clean rows ``X`` (unless given as parameters)."""
        X = self._fit_common(X)
        check_radius(self.radius)
        d = X.shape[1]
        self.mean_ = X.mean(axis=0) if self.mean is None else np.asarray(self.mean, float).copy()
        if self.mean_.shape != (d,):
            raise ValueError(f"mean has shape {self.mean_.shape}; expected ({d},)")
        if self.covariance is None:
            Xc = X - X.mean(axis=0)
            self.covariance_ = Xc.T @ Xc / max(len(X) - 1, 1)
        else:
            self.covariance_ = np.array(self.covariance, dtype=float)
            if self.covariance_.shape != (d, d):
                raise ValueError(f"covariance has shape {self.covariance_.shape}; "
                                 f"expected ({d}, {d})")
        self.site_distances_ = site_distances(self.lattice_)
        return self

    # -- the filters ------------------------------------------------------------------
    def _groups(self, sites=None):
        """Chunks ``(F_p, F_Omega)`` of feature indices: ``(g, k)`` and ``(g, M)``.

        ``F_Omega`` is ``None`` for a group whose neighbourhood is the whole
        lattice (one shared factorisation serves all its sites).
        """
        lat = self.lattice_
        k = lat.n_channels
        r = check_radius(self.radius)
        rows_all = np.arange(lat.n_sites) if sites is None else np.asarray(sites, dtype=np.intp)
        dist = self.site_distances_[rows_all]
        mask = np.ones_like(dist, dtype=bool) if r is None else dist <= r
        counts = mask.sum(axis=1)
        ch = np.arange(k)
        for m in np.unique(counts):
            idx = np.flatnonzero(counts == m)
            if m == lat.n_sites:
                yield rows_all[idx][:, None] * k + ch, None
                continue
            M = int(m) * k
            step = max(1, _CHUNK // (M * M))
            for s in range(0, len(idx), step):
                sel = idx[s:s + step]
                nb = np.nonzero(mask[sel])[1].reshape(len(sel), int(m))
                F_om = (nb[:, :, None] * k + ch).reshape(len(sel), M)
                yield rows_all[sel][:, None] * k + ch, F_om

    def _filters(self, t: float, sites=None):
        """Yield ``(F_p, F_Omega, W, mse)``: weights ``(g, k, M)``, exact MSE ``(g, k)``.

        ``F_Omega is None`` means every feature (``M = n_features``).
        """
        a, s = float(self.path_.alpha(t)), float(self.path_.sigma(t))
        S = self.covariance_
        full = None
        for F_p, F_om in self._groups(sites):
            g, k = F_p.shape
            S_pp = S[F_p, F_p]
            if F_om is None:
                if full is None:
                    full = linalg.cho_factor(a * a * S + s * s * np.eye(len(S)), lower=True,
                                             check_finite=False)
                S_op = S[:, F_p.ravel()].reshape(len(S), g, k)  # (d, g, k)
                sol = linalg.cho_solve(full, S_op.reshape(len(S), -1), check_finite=False)
                W = a * np.moveaxis(sol.reshape(len(S), g, k), 0, -1)  # (g, k, d)
                mse = S_pp - a * np.einsum("gkd,dgk->gk", W, S_op)
                yield F_p, None, W, mse
                continue
            S_oo = S[F_om[:, :, None], F_om[:, None, :]]
            S_op = S[F_om[:, :, None], F_p[:, None, :]]  # (g, M, k)
            A = a * a * S_oo + s * s * np.eye(F_om.shape[1])
            sol = linalg.cho_solve(linalg.cho_factor(A, lower=True, check_finite=False),
                                   S_op, check_finite=False)  # A^-1 Sigma_Omega p
            W = a * np.swapaxes(sol, 1, 2)
            mse = S_pp - a * np.einsum("gkm,gmk->gk", W, S_op)
            yield F_p, F_om, W, mse

    def _trivial(self, t):
        a, s = float(self.path_.alpha(t)), float(self.path_.sigma(t))
        return a, s, (s == 0 or a == 0)

    def _sites_features(self, sites):
        lat = self.lattice_
        if sites is None:
            return np.arange(lat.n_features)
        return lat.features(np.asarray(sites, dtype=np.intp))

    def denoise_sites(self, X, t: float, sites=None):
        """Estimate of x0 at some sites only, with the exact MSE there.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Noisy samples at time ``t``.
        t : float
        sites : array-like of int or None
            Flat (C-order) site indices; ``None`` = every site.

        Returns
        -------
        estimate : ndarray of shape (n_samples, n_selected_features)
            Columns are the features of ``sites`` in order (channels last).
        mse : ndarray of shape (n_selected_features,)
            The exact MSE of those features.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self._denoise_sites(X, float(t), sites)

    def _denoise_sites(self, X, t, sites):
        feats = self._sites_features(sites)
        a, s, trivial = self._trivial(t)
        if trivial:
            if s == 0:
                return X[:, feats] / a, np.zeros(len(feats))
            return (np.broadcast_to(self.mean_[feats], (len(X), len(feats))).copy(),
                    np.diag(self.covariance_)[feats].copy())
        pos = np.empty(self.n_features_in_, dtype=np.intp)
        pos[feats] = np.arange(len(feats))
        out = np.empty((len(X), len(feats)))
        mse_out = np.empty(len(feats))
        Xc = X - a * self.mean_
        for F_p, F_om, W, mse in self._filters(t, sites):
            cols = pos[F_p]
            mse_out[cols] = mse
            if F_om is None:
                g, k, d = W.shape
                out[:, cols.ravel()] = self.mean_[F_p.ravel()] + Xc @ W.reshape(g * k, d).T
                continue
            step = max(1, _CHUNK // max(1, len(X) * F_om.shape[1]))
            for i in range(0, len(F_p), step):
                xo = Xc[:, F_om[i:i + step]]  # (n, g, M)
                out[:, cols[i:i + step]] = self.mean_[F_p[i:i + step]] + np.einsum(
                    "ngm,gkm->ngk", xo, W[i:i + step])
        return out, mse_out

    def _denoise(self, X: np.ndarray, t: float) -> np.ndarray:
        return self._denoise_sites(X, t, None)[0]

    def exact_mse(self, t: float, sites=None) -> np.ndarray:
        """Exact MSE per feature of this denoiser at time ``t`` (data units^2).

        Exact for data with mean ``mean_`` and covariance ``covariance_``
        (Bayes-optimal among radius-r denoisers for Gaussian data). Returns
        ``(n_features,)``, or the features of ``sites`` (flat indices) only.
        """
        check_is_fitted(self)
        feats = self._sites_features(sites)
        a, s, trivial = self._trivial(t)
        if trivial:
            return np.zeros(len(feats)) if s == 0 else np.diag(self.covariance_)[feats].copy()
        pos = np.empty(self.n_features_in_, dtype=np.intp)
        pos[feats] = np.arange(len(feats))
        out = np.empty(len(feats))
        for F_p, _, _, mse in self._filters(t, sites):
            out[pos[F_p]] = mse
        return out

    def exact_score(self, times=None) -> float:
        """Minus the exact MSE averaged over features and ``times`` (default ``eval_times``)."""
        times = np.atleast_1d(self.eval_times if times is None else times)
        return -float(np.mean([self.exact_mse(float(t)).mean() for t in times]))


class PatchPosteriorDenoiser(BaseDenoiser):
    """Empirical patch-posterior denoiser (Kamb & Ganguli's LS / ELS machine).

    Parameters
    ----------
    lattice_shape, radius, n_channels, periodic, schedule, eval_times, transform_t
        As for :class:`LinearLocalDenoiser`; ``radius`` must be an integer
        (patch side ``2 r + 1``).
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
                 schedule="linear", equivariant=False, max_patches=None,
                 eval_times=(0.1, 0.3, 0.5, 0.7, 0.9), transform_t=0.5, random_state=None):
        self.lattice_shape = lattice_shape
        self.radius = radius
        self.n_channels = n_channels
        self.periodic = periodic
        self.schedule = schedule
        self.equivariant = equivariant
        self.max_patches = max_patches
        self.eval_times = eval_times
        self.transform_t = transform_t
        self.random_state = random_state

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
        a, s = float(self.path_.alpha(t)), float(self.path_.sigma(t))
        if s == 0:
            return X / a
        lat = self.lattice_
        k, S = lat.n_channels, lat.n_sites
        wx = self._window_view(X)
        if self.equivariant:
            flat = self._flat(wx).reshape(len(X) * S, -1)
            res = np.empty((len(flat), k))
            step = max(1, _CHUNK // len(self.bank_))
            for i in range(0, len(flat), step):
                res[i:i + step] = self._posterior_mean(flat[i:i + step], self.bank_,
                                                       self.bank_centres_, a, s)
            return res.reshape(len(X), -1)
        wy = self._window_view(self.Y_)
        out = np.empty((len(X), S, k))
        Yc = self.Y_.reshape(len(self.Y_), S, k)
        per_row = S // lat.shape[0]  # positions per index of the first axis
        rows = max(1, _CHUNK // max(1, len(X) * len(self.Y_) * per_row))
        for i in range(0, lat.shape[0], rows):
            sl = slice(i * per_row, min(i + rows, lat.shape[0]) * per_row)
            xp = np.moveaxis(self._flat(wx[:, i:i + rows]), 1, 0)   # (s, n, M)
            yp = np.moveaxis(self._flat(wy[:, i:i + rows]), 1, 0)   # (s, N, M)
            yc = np.moveaxis(Yc[:, sl], 1, 0)                       # (s, N, k)
            out[:, sl] = np.moveaxis(self._posterior_mean(xp, yp, yc, a, s), 0, 1)
        return out.reshape(len(X), -1)
