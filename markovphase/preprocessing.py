"""Lattice-aware preprocessing transformers (scikit-learn)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .lattice import Lattice
from .params import store_params

__all__ = ["LatticeCrop"]


class LatticeCrop(TransformerMixin, BaseEstimator):
    """Crop flattened lattice samples to a window (e.g. 28x28 MNIST -> 27x27).

    Parameters
    ----------
    lattice_shape : tuple of int
        Spatial shape of the input.
    size : int or tuple of int
        Side(s) of the kept window.
    offset : int, tuple of int or None, default=None
        First kept coordinate per axis; ``None`` keeps the window starting at 0
        (the paper's 27x27 MNIST crop drops the last row and column, so the
        centre of the crop is one pixel).
    n_channels : int, default=1

    Attributes
    ----------
    output_shape_ : tuple of int
        The cropped lattice shape.
    """

    def __init__(self, lattice_shape=(28, 28), size=27, offset=None, n_channels=1):
        store_params(self, locals())

    def fit(self, X, y=None):
        X = validate_data(self, X, dtype=np.float64)
        lat = Lattice(self.lattice_shape, self.n_channels)
        lat.check_X(X)
        nd = lat.ndim
        size = (self.size,) * nd if np.ndim(self.size) == 0 else tuple(self.size)
        off = (0,) * nd if self.offset is None else (
            (self.offset,) * nd if np.ndim(self.offset) == 0 else tuple(self.offset))
        for s, o, full in zip(size, off, lat.shape, strict=True):
            if s < 1 or o < 0 or o + s > full:
                raise ValueError(f"size={self.size!r} with offset={self.offset!r} does not fit "
                                 f"inside lattice_shape={lat.shape}")
        grid = np.arange(lat.n_features).reshape(*lat.shape, lat.n_channels)
        self.columns_ = grid[tuple(slice(o, o + s) for o, s in zip(off, size, strict=True))].ravel()
        self.output_shape_ = size
        return self

    def transform(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return X[:, self.columns_]

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self)
        names = (np.asarray(input_features) if input_features is not None
                 else np.asarray([f"x{i}" for i in range(self.n_features_in_)]))
        return names[self.columns_].astype(object)
