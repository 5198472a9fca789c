"""scikit-learn's 8x8 hand-written digits (offline, bundled with scikit-learn)."""

from __future__ import annotations

import numpy as np

from ._util import check_n_samples
from .base import Dataset

__all__ = ["load_digits"]

SOURCE = (
    "UCI ML Optical Recognition of Handwritten Digits (Alpaydin & Kaynak, 1998; test set), "
    "via sklearn.datasets.load_digits; CC BY 4.0"
)


def load_digits(n_samples: int | None = None, scale: bool = True) -> Dataset:
    """The 8x8 hand-written digits of scikit-learn (1797 images, offline): the quick default.

    Parameters
    ----------
    n_samples : int or None, default=None
        Keep the first ``n_samples`` images (of 1797). ``None`` keeps all.
    scale : bool, default=True
        Divide the pixel counts (integers 0..16, the number of "on" pixels of
        a 4x4 block of the original 32x32 bitmap) by 16 to lie in ``[0, 1]``.
        ``False`` keeps the counts.

    Returns
    -------
    Dataset
        ``X`` float64 of shape ``(n_samples, 64)`` on an open 8x8 lattice,
        one channel; ``target`` the digits 0-9 (int64).
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    n = check_n_samples(n_samples, len(bunch.data), "images in the digits data set")
    X = np.asarray(bunch.data[:n], dtype=np.float64)
    if scale:
        X = X / 16.0
    return Dataset(
        X=X,
        lattice_shape=(8, 8),
        n_channels=1,
        target=np.asarray(bunch.target[:n], dtype=np.int64),
        periodic=False,
        name="digits",
        metadata={
            "n_samples": n,
            "scale": "x / 16" if scale else None,
            "source": SOURCE,
        },
    )
