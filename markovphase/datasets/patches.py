"""Random patches of the two photographs bundled with scikit-learn (offline).

``sklearn.datasets.load_sample_images`` decodes ``china.jpg`` and
``flower.jpg`` (427 x 640 RGB each) with Pillow, which scikit-learn does not
require but matplotlib (a dependency of markovphase) does.
"""

from __future__ import annotations

import numpy as np

from ._util import check_positive_int
from .base import Dataset

__all__ = ["load_image_patches", "LUMA_WEIGHTS"]

#: ITU-R BT.601 luma weights of R, G, B (as Pillow's ``convert("L")``)
LUMA_WEIGHTS = (0.299, 0.587, 0.114)

SOURCE = (
    "sklearn.datasets.load_sample_images: china.jpg (Flickr, danielbuechele) and "
    "flower.jpg (Flickr, vultilion), 427 x 640 RGB, CC BY 2.0; see "
    "sklearn/datasets/images/README.txt"
)


def _sample_images() -> tuple[np.ndarray, list[str]]:
    try:
        from sklearn.datasets import load_sample_images
        bunch = load_sample_images()
    except ImportError as exc:
        raise ImportError(
            f"load_image_patches needs Pillow to decode scikit-learn's sample images ({exc}); "
            "install it with `pip install pillow`"
        ) from exc
    return np.stack(bunch.images), [str(f) for f in bunch.filenames]


def load_image_patches(
    patch_size: int = 8,
    n_samples: int = 10000,
    grayscale: bool = True,
    random_state: int | None = 0,
) -> Dataset:
    """Random p x p patches of scikit-learn's two sample photographs (natural images, offline).

    Parameters
    ----------
    patch_size : int, default=8
        Side ``p`` of the square patches, between 1 and 427 (the image height).
    n_samples : int, default=10000
        Number of patches. Each picks one of the two images with equal
        probability and a uniformly random top-left corner among the
        positions where the patch fits (patches may overlap and repeat).
    grayscale : bool, default=True
        Luminance ``0.299 R + 0.587 G + 0.114 B`` (one channel); ``False``
        keeps the three RGB channels (channels last).
    random_state : int or None, default=0
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    Dataset
        ``X`` float64 of shape ``(n_samples, p * p)`` (grayscale) or
        ``(n_samples, p * p * 3)`` (RGB), intensities in ``[0, 1]`` (8-bit
        values / 255), open ``p x p`` lattice. ``target``: the image index of
        each patch (0 = china.jpg, 1 = flower.jpg). ``metadata`` (small and
        JSON-able): ``patch_size``, ``grayscale``, ``random_state``, the image
        files and their ``source``. The corners are drawn as
        ``rng.integers(2, size=n)``, ``rng.integers(427 - p + 1, size=n)``,
        ``rng.integers(640 - p + 1, size=n)`` (image, row, column), in that
        order, from ``rng = numpy.random.default_rng(random_state)``.
    """
    p = check_positive_int(patch_size, "patch_size")
    n = check_positive_int(n_samples, "n_samples")
    images, filenames = _sample_images()  # (2, 427, 640, 3) uint8
    n_images, height, width = images.shape[:3]
    if p > min(height, width):
        raise ValueError(
            f"patch_size={p} must be at most {min(height, width)}, the smaller side of the "
            f"{height} x {width} sample images"
        )
    if grayscale:
        images = images @ np.asarray(LUMA_WEIGHTS)  # float64, (2, H, W)
        images = images[..., None]
    images = images / 255.0

    rng = np.random.default_rng(random_state)
    which = rng.integers(n_images, size=n)
    rows = rng.integers(height - p + 1, size=n)
    cols = rng.integers(width - p + 1, size=n)
    offsets = np.arange(p)
    patches = images[
        which[:, None, None],
        rows[:, None, None] + offsets[None, :, None],
        cols[:, None, None] + offsets[None, None, :],
    ]  # (n, p, p, channels)
    n_channels = patches.shape[-1]
    return Dataset(
        X=np.clip(patches.reshape(n, -1), 0.0, 1.0),
        lattice_shape=(p, p),
        n_channels=n_channels,
        target=which.astype(np.int64),
        periodic=False,
        name="image-patches",
        metadata={
            "patch_size": p,
            "grayscale": bool(grayscale),
            "luma_weights": LUMA_WEIGHTS if grayscale else None,
            "random_state": random_state,
            "images": filenames,
            "source": SOURCE,
        },
    )
