"""Shared interface of the denoisers: posterior-mean estimates of x0 and their score.

Every denoiser here estimates the posterior mean ``E[x0 | x_t]`` of the clean
sample from a noisy one, ``x_t = alpha(t) x0 + sigma(t) z`` (path from
:func:`markovphase.diffusion.get_path`). The common methods:

* ``denoise(X, t)`` — the estimate of x0 from ``X`` taken as ``x_t`` at time ``t``
  (same units as the training data);
* ``transform(X)`` — ``denoise(X, transform_t)``;
* ``score_samples(X)`` — per clean sample ``x0``, minus the mean squared error
  of the estimate of x0 (per feature, data units squared), averaged over the
  fixed ``eval_times``: ``-(1/|T|) sum_t (1/d) |D(alpha x0 + sigma z, t) - x0|^2``;
* ``score(X)`` — the mean of ``score_samples`` (greater is better).

The noise ``z`` used by ``score_samples`` is a deterministic function of the
sample's values, the evaluation time and the seed (:func:`row_noise`), so a
score does not depend on the order of the rows, on the other rows passed with
it, or on the number of calls; two denoisers with the same seed are scored on
the same noisy inputs (a paired comparison, as in a grid search over the radius).
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ..diffusion import check_times, resolve_path
from ..lattice import resolve_lattice
from ..params import store_params
from ..seeding import draw_seed

__all__ = ["BaseDenoiser", "ClosedFormDenoiser", "row_noise", "resolve_lattice",
           "check_radius", "store_params"]

#: elements per intermediate array of the closed-form denoisers (memory bound of a chunk)
CHUNK = 2_000_000


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """The SplitMix64 finaliser, elementwise on uint64 (wrap-around arithmetic)."""
    x = np.asarray(x, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _seed64(seed: int) -> np.ndarray:
    return np.array([int(seed) & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64)


def row_noise(X: np.ndarray, shape: tuple[int, ...], seed: int, salt: int = 0) -> np.ndarray:
    """Standard normal noise of shape ``(n_samples, *shape)``, a pure function of each row.

    Row ``i`` gets noise determined by the bits of ``X[i]``, ``seed`` and
    ``salt`` only (a SplitMix64 hash of the row, then counter-based uniforms
    and the Box-Muller transform), so it is the same whatever other rows come
    with it and in whatever order. Vectorised; no per-row loop.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    n, d = X.shape
    s = _splitmix64(_seed64(seed) ^ _splitmix64(_seed64(salt)))
    bits = X.view(np.uint64)
    cols = _splitmix64(np.arange(d, dtype=np.uint64) ^ s)
    key = (np.bitwise_xor.reduce(_splitmix64(bits ^ cols[None, :]), axis=1) if d
           else np.zeros(n, np.uint64))
    key = _splitmix64(key ^ s)
    m = int(np.prod(shape))
    half = (m + 1) // 2
    ctr = _splitmix64(np.arange(2 * half, dtype=np.uint64) * np.uint64(0xD1B54A32D192ED03))
    u = _splitmix64(key[:, None] ^ ctr[None, :])
    u = ((u >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53  # in (0, 1)
    u1, u2 = u[:, :half], u[:, half:]
    rad = np.sqrt(-2.0 * np.log(u1))
    z = np.concatenate([rad * np.cos(2 * np.pi * u2), rad * np.sin(2 * np.pi * u2)], axis=1)
    return z[:, :m].reshape((n, *shape))


def check_radius(radius, allow_none: bool = True):
    """``None`` (global) or an integer ``>= 0``; a clear error otherwise."""
    if radius is None and allow_none:
        return None
    if isinstance(radius, bool) or not isinstance(radius, numbers.Integral) or radius < 0:
        raise ValueError(f"radius={radius!r} must be an integer >= 0"
                         + (" or None (global)" if allow_none else ""))
    return int(radius)


class BaseDenoiser(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Base of the denoisers: subclasses implement ``fit``, ``_denoise(X, t)`` and ``flops``.

    ``fit`` must set ``n_features_in_``, ``lattice_``, ``path_`` and
    ``eval_seed_`` (via :meth:`_fit_common`). Parameters every denoiser has:
    ``lattice_shape``, ``n_channels``, ``periodic``, ``path`` (the forward
    path; ``schedule`` its deprecated spelling), ``eval_times``,
    ``transform_t`` and ``random_state``.
    """

    def _fit_common(self, X):
        X = validate_data(self, X, dtype=np.float64)
        self.lattice_ = resolve_lattice(self.lattice_shape, self.n_channels, self.periodic,
                                        X.shape[1])
        self.path_ = resolve_path(self.path, self.schedule, type(self).__name__)
        check_times(self.eval_times, "eval_times")
        check_times(self.transform_t, "transform_t")
        rs = self.random_state
        if rs is None:
            self.eval_seed_ = 0
        elif isinstance(rs, numbers.Integral):
            self.eval_seed_ = int(rs)
        else:
            self.eval_seed_ = draw_seed(rs)
        return X

    def flops(self, n_samples: int, t: float) -> float:
        """Floating-point operations of one ``denoise`` call on ``n_samples`` rows at ``t``
        (a multiply-add is 2). ``nan`` here (not known); the denoisers override it."""
        return float("nan")

    def _denoise(self, X: np.ndarray, t: float) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def denoise(self, X, t) -> np.ndarray:
        """Estimate of x0 from ``X`` taken as ``x_t`` at time ``t`` (posterior mean, data units).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Noisy samples ``x_t = alpha(t) x0 + sigma(t) z``.
        t : float
            Diffusion time in [0, 1].

        Returns
        -------
        ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        t = float(check_times(t, "t")[0]) if np.ndim(t) == 0 else None
        if t is None:
            raise ValueError("t must be a single time in [0, 1]")
        return self._denoise(X, t)

    def transform(self, X):
        """``denoise(X, transform_t)``: the posterior-mean estimate of x0 from ``X`` as x_t."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self._denoise(X, float(self.transform_t))

    def mse_samples(self, X, times=None) -> np.ndarray:
        """Per sample and time, the MSE (per feature) of the estimate of x0.

        ``X`` holds clean samples; each is noised to every time with the
        deterministic noise of :func:`row_noise`. Returns ``(n_samples, n_times)``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        times = check_times(self.eval_times if times is None else times, "times")
        out = np.empty((X.shape[0], len(times)))
        for j, t in enumerate(times):
            z = row_noise(X, (X.shape[1],), self.eval_seed_, salt=int(round(float(t) * 1e9)))
            xt = self.path_.noise(X, float(t), z)
            out[:, j] = np.mean((self._denoise(xt, float(t)) - X) ** 2, axis=1)
        return out

    def score_samples(self, X):
        """Minus the per-feature x0-MSE, averaged over ``eval_times``, per sample."""
        return -self.mse_samples(X).mean(axis=1)

    def score(self, X, y=None):
        """Minus the denoising MSE on x0 averaged over ``eval_times`` (greater is better)."""
        return float(np.mean(self.score_samples(X)))


class ClosedFormDenoiser(BaseDenoiser):
    """Base of the training-free local denoisers.

    Their shared parameters: ``lattice_shape`` (``None`` = a 1-D chain of all
    features), ``radius`` (the L-infinity radius of a site's neighbourhood),
    ``n_channels``, ``periodic``, ``path`` (the forward path; ``schedule`` its
    deprecated spelling), ``eval_times``, ``transform_t`` and ``random_state``.
    """

    def _alpha_sigma(self, t: float) -> tuple[float, float]:
        """``(alpha(t), sigma(t))`` of the fitted path, as floats."""
        return float(self.path_.alpha(t)), float(self.path_.sigma(t))
