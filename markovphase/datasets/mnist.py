"""MNIST and other IDX files (Fashion-MNIST, KMNIST, EMNIST, ...).

The MNIST test set (10,000 images and labels; LeCun, Cortes & Burges, CC BY-SA
3.0) ships with the package (``markovphase/datasets/data/mnist/``), so
``load_dataset("mnist")`` needs no path; the bundled files are MD5-checked
on every load.

The IDX format (LeCun et al.) is a 4-byte magic ``00 00 TT DD`` -- ``TT`` the
element type, ``DD`` the number of dimensions -- then ``DD`` big-endian
``uint32`` sizes, then the elements, big-endian, C-order. A file may be
gzip-compressed; compression is detected from the first two bytes
(``1f 8b``), never from the extension.
"""

from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

from ._util import check_n_samples, md5_bytes, resolve_path
from .base import Dataset

__all__ = ["load_mnist", "read_idx", "crop_window", "bundled_mnist", "IDX_DTYPES", "MNIST_ENV",
           "MNIST_MD5"]

#: environment variable holding the default image file of :func:`load_mnist`
MNIST_ENV = "MARKOVPHASE_MNIST"

#: IDX type code -> big-endian numpy dtype
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"
SOURCE = "MNIST (LeCun, Cortes & Burges), CC BY-SA 3.0"

#: file name -> MD5 of the bundled MNIST test set (as stored, gzip)
MNIST_MD5 = {
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}


def bundled_mnist() -> tuple[str, str]:
    """Paths of the bundled MNIST test images and labels (package data)."""
    from importlib import resources

    root = resources.files("markovphase.datasets") / "data" / "mnist"
    images, labels = (str(root / name) for name in MNIST_MD5)
    return images, labels


def crop_window(side: int, crop: int) -> slice:
    """The centred window of ``crop`` of ``side`` pixels; an odd surplus drops one at the start.

    ``start = ceil((side - crop) / 2)``: 28 -> 27 keeps ``[1:28]`` (the paper's
    ``images[:, 1:, 1:]``), 28 -> 26 keeps ``[1:27]``, 28 -> 24 keeps ``[2:26]``.
    """
    start = (side - crop + 1) // 2
    return slice(start, start + crop)


def _read_bytes(path: str, what: str) -> tuple[bytes, str]:
    """The (decompressed) content of ``path`` and the MD5 of the file as stored."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{what} not found: {path}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{what} {path} is a directory; pass the path of an IDX file")
    with open(path, "rb") as f:
        raw = f.read()
    md5 = md5_bytes(raw)
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
            raise ValueError(
                f"{what} {path} is a corrupt or truncated gzip file ({type(exc).__name__}: {exc})"
            ) from None
    return raw, md5


def read_idx(path, what: str = "IDX file") -> tuple[np.ndarray, str]:
    """Read an IDX file (raw or gzip) into a native-endian array.

    Parameters
    ----------
    path : str or path-like
        The file. Gzip compression is detected from its content.
    what : str
        How error messages name the file.

    Returns
    -------
    array : ndarray
        Shape from the header, dtype from the type code (native byte order).
    md5 : str
        MD5 hex digest of the file as stored on disk (compressed if it is).

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        Bad magic (not an IDX file), unknown type code, corrupt gzip,
        truncated data or trailing bytes; the message names the path.
    """
    path = resolve_path(path)
    data, md5 = _read_bytes(path, what)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(
            f"{what} {path} is not an IDX file: bad magic {data[:4].hex(' ') or '(empty file)'} "
            "(expected 00 00 <type> <ndim>, e.g. 00 00 08 03 for ubyte images)"
        )
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        raise ValueError(
            f"{what} {path} has unknown IDX type code 0x{code:02X}; known: "
            + ", ".join(f"0x{c:02X} ({d.name})" for c, d in IDX_DTYPES.items())
        )
    if ndim == 0:
        raise ValueError(f"{what} {path} declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(
            f"{what} {path} is truncated: the header of {ndim} dimensions needs {header} bytes, "
            f"the file has {len(data)}"
        )
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    have = len(data) - header
    if have < expected:
        raise ValueError(
            f"{what} {path} is truncated: its header says shape {dims} of {dtype.name} "
            f"({expected} data bytes), the file has {have} data bytes"
        )
    if have > expected:
        raise ValueError(
            f"{what} {path} has {have - expected} unexpected bytes after the data of shape {dims}"
        )
    arr = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize, offset=header)
    return arr.reshape(dims).astype(dtype.newbyteorder("="), copy=False), md5


def _sibling_labels(path: str) -> str | None:
    head, name = os.path.split(path)
    if "images-idx3-ubyte" not in name:
        return None
    return os.path.join(head, name.replace("images-idx3-ubyte", "labels-idx1-ubyte"))


def load_mnist(
    path: str | None = None,
    crop: int | None = None,
    labels_path: str | None = None,
    n_samples: int | None = None,
) -> Dataset:
    """MNIST-style images from an IDX file (gzip or raw): Fashion-MNIST etc. load too.

    Parameters
    ----------
    path : str or None, default=None
        The image file, e.g. ``t10k-images-idx3-ubyte.gz``: an IDX file of shape
        ``(n_images, rows, cols)`` (any number of spatial axes works: the
        lattice is the shape after the first axis). ``None`` reads the
        environment variable ``MARKOVPHASE_MNIST`` when it is set, else the
        bundled MNIST test set (MD5-checked, labels included).
    crop : int or None, default=None
        Keep the **centred** ``crop x crop`` window (``crop`` sites along
        every spatial axis); when the surplus ``side - crop`` is odd, the
        extra pixel is dropped at the start (see :func:`crop_window`).
        ``crop=27`` on 28x28 MNIST is exactly the paper's
        ``images[:, 1:, 1:]`` (first row and column dropped): its centre
        ``(13, 13)`` is the original pixel ``(14, 14)``. ``None`` keeps the
        full image.
    labels_path : str or None, default=None
        The IDX label file (shape ``(n_images,)``). ``None`` looks for the
        sibling file whose name has ``labels-idx1-ubyte`` in place of
        ``images-idx3-ubyte`` (same directory and extension) and loads it if
        it exists; otherwise ``target`` is ``None``.
    n_samples : int or None, default=None
        Keep the first ``n_samples`` images (file order). ``None`` keeps all.

    Returns
    -------
    Dataset
        ``X`` float64 of shape ``(n_samples, n_sites)``, one channel, open
        borders. Pixels of ``ubyte`` files are intensities scaled to
        ``[0, 1]`` (``x / 255``); other IDX types (int8, int16, int32,
        float32, float64) are converted to float64 unscaled. ``target``: the
        labels (int64, e.g. digits 0-9) or ``None``. ``metadata``: ``path``,
        ``md5`` (of the file as stored), ``crop``, ``crop_anchor``,
        ``original_shape``, ``idx_dtype``, ``labels_path``, ``labels_md5``,
        ``source``.

    Raises
    ------
    FileNotFoundError
        A missing image file, or a missing ``labels_path`` given explicitly.
    ValueError
        A bundled file whose MD5 does not match; not an IDX file; corrupt
        gzip; truncated file; ``crop`` outside ``[1, smallest side]``; label
        count different from the image count. Messages name the path.
    """
    bundled = False
    if path is None:
        path = os.environ.get(MNIST_ENV) or None
        if path is None:
            path, bundled_labels = bundled_mnist()
            bundled = True
            labels_path = bundled_labels if labels_path is None else labels_path
    path = resolve_path(path)
    images, md5 = read_idx(path, what="MNIST image file")
    if bundled and md5 != MNIST_MD5[os.path.basename(path)]:
        raise ValueError(f"the bundled MNIST file {path} has MD5 {md5}; expected "
                         f"{MNIST_MD5[os.path.basename(path)]} (a damaged installation)")
    if images.ndim < 2:
        raise ValueError(
            f"MNIST image file {path} holds a {images.ndim}-D array of shape {images.shape} "
            "(a label file?); images need shape (n_images, rows, cols)"
        )
    original_shape = images.shape
    idx_dtype = images.dtype.name
    n = check_n_samples(n_samples, images.shape[0], f"images in {path}")
    images = images[:n]

    if crop is not None:
        if isinstance(crop, bool) or not isinstance(crop, (int, np.integer)):
            raise TypeError(f"crop must be an int or None, got {crop!r}")
        crop = int(crop)
        side = min(images.shape[1:])
        if not 1 <= crop <= side:
            raise ValueError(
                f"crop={crop} must be between 1 and the smallest image side {side} "
                f"(images of shape {original_shape[1:]} in {path})"
            )
        images = images[(slice(None),) + tuple(crop_window(s, crop) for s in images.shape[1:])]

    lattice_shape = images.shape[1:]
    X = images.reshape(n, -1).astype(np.float64)
    if images.dtype == np.uint8:
        X /= 255.0

    target = labels_md5 = None
    if labels_path is None:
        sibling = _sibling_labels(path)
        if sibling is not None and os.path.exists(sibling):
            labels_path = sibling
    if labels_path is not None:
        labels_path = resolve_path(labels_path)
        labels, labels_md5 = read_idx(labels_path, what="MNIST label file")
        name = os.path.basename(labels_path)
        if bundled and name in MNIST_MD5 and labels_md5 != MNIST_MD5[name]:
            raise ValueError(f"the bundled MNIST file {labels_path} has MD5 {labels_md5}; "
                             f"expected {MNIST_MD5[name]}")
        if labels.ndim != 1:
            raise ValueError(
                f"MNIST label file {labels_path} holds shape {labels.shape}; labels need "
                "shape (n_images,)"
            )
        if labels.shape[0] != original_shape[0]:
            raise ValueError(
                f"MNIST label file {labels_path} has {labels.shape[0]} labels but the image "
                f"file {path} has {original_shape[0]} images"
            )
        target = labels[:n].astype(np.int64)

    return Dataset(
        X=X,
        lattice_shape=lattice_shape,
        n_channels=1,
        target=target,
        periodic=False,
        name="mnist",
        metadata={
            "path": path,
            "md5": md5,
            "crop": crop,
            "crop_anchor": "centre (odd surplus dropped at the start)" if crop is not None
            else None,
            "bundled": bundled,
            "original_shape": tuple(original_shape),
            "idx_dtype": idx_dtype,
            "scaled": "x / 255" if idx_dtype == "uint8" else None,
            "labels_path": labels_path,
            "labels_md5": labels_md5,
            "n_samples": n,
            "source": SOURCE,
        },
    )
