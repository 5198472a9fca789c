"""A denoiser fitted on per-feature centred data (the mean added back)."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from ..params import store_params
from .protocol import denoiser_flops

__all__ = ["CenteredDenoiser"]


class CenteredDenoiser:
    """A denoiser fitted on per-feature centred data: ``D(x, t) = mu + D_c(x - alpha(t) mu, t)``.

    Translation-equivariant local networks (convolutions) cannot represent a
    position-dependent mean such as MNIST's average digit: far from the data
    (t near 1) the Bayes denoiser is ``E[x0] = mu``, which varies by pixel.
    Removing the per-feature mean ``mu`` of the training rows (a constant, so
    the receptive radius is unchanged) and adding it back fixes that:
    ``x_t - alpha mu = alpha (x0 - mu) + sigma z`` is the centred data noised
    on the same path.

    Parameters
    ----------
    estimator : denoiser estimator (unfitted; cloned in ``fit``)
        A :class:`~markovphase.denoisers.BaseDenoiser` (``fit(X)``,
        ``denoise(X, t)``, and its forward path ``path_`` once fitted).

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
    estimator_ : the fitted clone
    path_ : DiffusionPath
        The fitted estimator's forward path.
    n_features_in_ : int
    """

    def __init__(self, estimator):
        store_params(self, locals())

    def _set_fitted(self, fitted_estimator, mean) -> CenteredDenoiser:
        self.estimator_ = fitted_estimator
        self.mean_ = np.asarray(mean, dtype=np.float64).ravel()
        self.n_features_in_ = self.mean_.size
        self.path_ = fitted_estimator.path_
        return self

    @classmethod
    def from_fitted(cls, fitted_estimator, mean) -> CenteredDenoiser:
        """Wrap an already fitted denoiser of centred data with its centring ``mean``."""
        return cls(fitted_estimator)._set_fitted(fitted_estimator, mean)

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=np.float64)
        mean = X.mean(axis=0)
        return self._set_fitted(clone(self.estimator).fit(X - mean), mean)

    def denoise(self, X, t):
        a = float(self.path_.alpha(t))
        return self.mean_ + self.estimator_.denoise(np.asarray(X, float) - a * self.mean_, t)

    def flops(self, n_samples, t):
        """The wrapped denoiser's FLOPs plus ``3 n d`` for the centring."""
        base = denoiser_flops(self.estimator_, n_samples, t, self.n_features_in_)
        return base + 3.0 * n_samples * self.n_features_in_
