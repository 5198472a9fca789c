"""The optimal local linear (Wiener) denoiser: closed form, no training.

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
The other training-free denoiser, the empirical patch posterior, is
:class:`~markovphase.denoisers.patch_posterior.PatchPosteriorDenoiser`.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg
from sklearn.utils.validation import check_is_fitted, validate_data

from ..diffusion import DEPRECATED
from .base import CHUNK, ClosedFormDenoiser, check_radius, store_params
from .patch_posterior import PatchPosteriorDenoiser  # its former home: keep the import path

__all__ = ["LinearLocalDenoiser", "PatchPosteriorDenoiser", "site_distances"]

def site_distances(lattice) -> np.ndarray:
    """Chebyshev distances between all pairs of sites, ``(n_sites, n_sites)``.

    Row ``i`` is ``lattice.distances(site_i).ravel()`` (wrapped when periodic).
    """
    sites = np.array(np.unravel_index(np.arange(lattice.n_sites), lattice.shape)).T
    return np.stack([lattice.distances(tuple(int(c) for c in s)).ravel().astype(np.int32)
                     for s in sites])


class LinearLocalDenoiser(ClosedFormDenoiser):
    """Optimal local linear (Wiener) denoiser of receptive radius ``radius``.

    Parameters
    ----------
    lattice_shape : tuple of int or None, default=None
        Spatial shape; ``None`` = a 1-D chain of all features.
    radius : int or None, default=1
        L-infinity radius of the neighbourhood Omega; ``None`` = all sites (global).
    n_channels : int, default=1
    periodic : bool, default=False
    path : str or DiffusionPath, default="linear"
        The forward path.
    covariance : ndarray of shape (n_features, n_features) or None, default=None
        The clean covariance to use (e.g. the exact one of a Gaussian field);
        ``None`` estimates it from the training rows (unbiased sample covariance).
    mean : ndarray of shape (n_features,) or None, default=None
        The clean mean to use; ``None`` takes the sample mean.
    eval_times : sequence of float, default=(0.1, 0.3, 0.5, 0.7, 0.9)
    transform_t : float, default=0.5
    random_state : int, RandomState or None, default=None
        Seeds the scoring noise only.
    schedule : str or DiffusionPath, default="deprecated"
        Deprecated spelling of ``path`` (``FutureWarning``; removed in the next release).

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
    covariance_ : ndarray of shape (n_features, n_features)
    lattice_, path_, n_features_in_
    """

    def __init__(self, lattice_shape=None, radius=1, n_channels=1, periodic=False,
                 path="linear", covariance=None, mean=None,
                 eval_times=(0.1, 0.3, 0.5, 0.7, 0.9), transform_t=0.5, random_state=None,
                 schedule=DEPRECATED):
        store_params(self, locals())

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
            step = max(1, CHUNK // (M * M))
            for s in range(0, len(idx), step):
                sel = idx[s:s + step]
                nb = np.nonzero(mask[sel])[1].reshape(len(sel), int(m))
                F_om = (nb[:, :, None] * k + ch).reshape(len(sel), M)
                yield rows_all[sel][:, None] * k + ch, F_om

    def _filters(self, t: float, sites=None):
        """Yield ``(F_p, F_Omega, W, mse)``: weights ``(g, k, M)``, exact MSE ``(g, k)``.

        ``F_Omega is None`` means every feature (``M = n_features``).
        """
        a, s = self._alpha_sigma(t)
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
        a, s = self._alpha_sigma(t)
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
            step = max(1, CHUNK // max(1, len(X) * F_om.shape[1]))
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

    def flops(self, n_samples: int, t: float) -> float:
        """FLOPs of one ``denoise`` call on ``n_samples`` rows at ``t`` (a multiply-add is 2).

        With ``M_p`` the features in the neighbourhood of site p, ``k`` channels
        and ``d`` features: applying the filters costs ``n (sum_p 2 k M_p + 3 d)``;
        building them at time t costs ``sum_p (M_p^3 / 3 + 2 k M_p^2 + M_p^2)``
        (Cholesky, k triangular solve pairs, forming ``alpha^2 Sigma + sigma^2 I``)
        once per call, except that sites whose neighbourhood is the whole lattice
        share one factorisation (``d^3 / 3 + d^2``, plus ``2 k d^2`` per such site
        for the solves), as :meth:`denoise` does. Where ``alpha`` or ``sigma`` is 0
        the estimate is a copy or the mean: ``n d``.
        """
        check_is_fitted(self)
        d = int(self.n_features_in_)
        a, s = self._alpha_sigma(t)
        if a == 0 or s == 0:
            return float(n_samples * d)
        k = self.lattice_.n_channels
        dist = self.site_distances_
        m = (np.full(dist.shape[0], dist.shape[1]) if self.radius is None
             else (dist <= self.radius).sum(axis=1)).astype(float) * k
        apply = n_samples * (np.sum(2.0 * k * m) + 3.0 * d)
        full = m == d  # these sites share one factorisation of the whole matrix
        setup = np.sum(m[~full] ** 3 / 3 + 2 * k * m[~full] ** 2 + m[~full] ** 2)
        if full.any():
            setup += d**3 / 3 + d**2 + 2.0 * k * d**2 * full.sum()
        return float(apply + setup)
