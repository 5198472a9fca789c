"""The one data contract: :class:`Dataset`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..lattice import Lattice


@dataclass
class Dataset:
    """Samples on a lattice.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_sites * n_channels), float64
        One flattened sample per row, C-order over the lattice, channels last.
    lattice_shape : tuple of int
        Spatial shape, e.g. ``(28, 28)``.
    n_channels : int
        Values per site.
    target : ndarray of shape (n_samples,) or None
        Labels where the source has them.
    periodic : bool
        Whether the lattice wraps around (fields, spin models).
    covariance : ndarray of shape (n_features, n_features) or None
        The exact covariance of the generating distribution, where known.
    name : str
        Registry name of the adapter that made it.
    metadata : dict
        Provenance (paths, checksums, parameters, licence, ...).
    """

    X: np.ndarray
    lattice_shape: tuple[int, ...]
    n_channels: int = 1
    target: np.ndarray | None = None
    periodic: bool = False
    covariance: np.ndarray | None = None
    name: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        self.X = np.ascontiguousarray(self.X, dtype=np.float64)
        self.lattice_shape = tuple(int(s) for s in self.lattice_shape)
        self.lattice.check_X(self.X)
        if not np.all(np.isfinite(self.X)):
            raise ValueError(f"dataset {self.name!r}: X contains NaN or inf")
        if self.target is not None and len(self.target) != len(self.X):
            raise ValueError(
                f"target has {len(self.target)} entries for {len(self.X)} samples in X"
            )

    @property
    def lattice(self) -> Lattice:
        return Lattice(self.lattice_shape, self.n_channels, self.periodic)

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    @property
    def y(self) -> np.ndarray | None:
        """Alias of :attr:`target` (scikit-learn's name)."""
        return self.target

    def sample_rows(self, max_samples: int | None, random_state=0) -> np.ndarray:
        """``X``, or a seeded random subset of ``max_samples`` of its rows (kept in order).

        ``max_samples=None`` (or at least ``n_samples``) returns ``X`` itself; the
        subset is ``numpy.random.default_rng(random_state).choice`` without
        replacement, sorted.
        """
        if max_samples is None or max_samples >= self.n_samples:
            return self.X
        if int(max_samples) < 1:
            raise ValueError(f"max_samples={max_samples!r} must be an integer >= 1 or None")
        rng = np.random.default_rng(random_state)
        return self.X[np.sort(rng.choice(self.n_samples, int(max_samples), replace=False))]

    def images(self) -> np.ndarray:
        """``X`` reshaped to ``(n_samples, *lattice_shape, n_channels)``."""
        return self.X.reshape(self.n_samples, *self.lattice_shape, self.n_channels)

    def __repr__(self) -> str:
        return (f"Dataset(name={self.name!r}, n_samples={self.n_samples}, "
                f"lattice_shape={self.lattice_shape}, n_channels={self.n_channels}, "
                f"periodic={self.periodic})")
