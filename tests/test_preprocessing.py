import numpy as np
import pytest

from markovphase.preprocessing import LatticeCrop


def test_crop_keeps_the_top_left_window():
    X = np.arange(2 * 28 * 28, dtype=float).reshape(2, 784)
    crop = LatticeCrop(lattice_shape=(28, 28), size=27).fit(X)
    out = crop.transform(X)
    assert out.shape == (2, 729) and crop.output_shape_ == (27, 27)
    np.testing.assert_array_equal(out.reshape(2, 27, 27), X.reshape(2, 28, 28)[:, :27, :27])


def test_crop_with_offset_and_channels():
    X = np.random.default_rng(0).normal(size=(3, 6 * 5 * 2))
    crop = LatticeCrop(lattice_shape=(6, 5), size=(2, 3), offset=(1, 2), n_channels=2)
    out = crop.fit_transform(X)
    np.testing.assert_array_equal(out.reshape(3, 2, 3, 2), X.reshape(3, 6, 5, 2)[:, 1:3, 2:5])


def test_crop_that_does_not_fit_is_named():
    with pytest.raises(ValueError, match="size=9"):
        LatticeCrop(lattice_shape=(8, 8), size=9).fit(np.zeros((2, 64)))
