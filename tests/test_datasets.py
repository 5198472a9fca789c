"""The built-in dataset adapters: mnist (IDX), npz/arrays, digits, gaussian-field, image-patches."""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
from pathlib import Path

import numpy as np
import pytest

import markovphase
from markovphase.datasets import Dataset, dataset_parameters, load_dataset
from markovphase.datasets import mnist as mnist_module
from markovphase.datasets.arrays import from_array, load_npz
from markovphase.datasets.digits import load_digits
from markovphase.datasets.gaussian_field import (
    gaussian_field_covariance,
    gaussian_field_precision,
    gaussian_field_spectrum,
    load_gaussian_field,
    sample_gaussian_field,
)
from markovphase.datasets.mnist import load_mnist, read_idx
from markovphase.datasets.patches import load_image_patches

MNIST_DIR = Path(os.environ.get("MARKOVPHASE_TEST_MNIST_DIR", "/work/shared/data/mnist"))
MNIST_IMAGES = MNIST_DIR / "t10k-images-idx3-ubyte.gz"
MNIST_LABELS = MNIST_DIR / "t10k-labels-idx1-ubyte.gz"
MNIST_MD5 = "9fb629c4189551a2d022fa330f9573f3"
MNIST_LABELS_MD5 = "ec29112dd5afa0611ce80d1b7f02629c"

needs_mnist = pytest.mark.skipif(
    not MNIST_IMAGES.exists(),
    reason=f"shared MNIST test file {MNIST_IMAGES} is absent (set MARKOVPHASE_TEST_MNIST_DIR)",
)

IDX_CODES = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}


def idx_bytes(arr: np.ndarray) -> bytes:
    """Encode ``arr`` as an IDX file (big-endian)."""
    arr = np.asarray(arr)
    code = IDX_CODES[arr.dtype.str[1:]]
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, arr: np.ndarray, compress: bool = False) -> Path:
    data = idx_bytes(arr)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.fixture
def small_mnist(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(7, 5, 6), dtype=np.uint8)
    labels = rng.integers(0, 10, size=7, dtype=np.uint8)
    return images, labels


# --------------------------------------------------------------------------- mnist: shared file
@needs_mnist
def test_mnist_shared_file():
    ds = load_mnist(str(MNIST_IMAGES))
    assert ds.name == "mnist"
    assert ds.X.shape == (10000, 784) and ds.X.dtype == np.float64
    assert ds.lattice_shape == (28, 28) and ds.n_channels == 1 and not ds.periodic
    assert ds.X.min() == 0.0 and ds.X.max() == 1.0
    assert ds.target is not None and ds.target.shape == (10000,)
    assert set(np.unique(ds.target)) == set(range(10))
    md = ds.metadata
    assert md["md5"] == MNIST_MD5
    assert hashlib.md5(MNIST_IMAGES.read_bytes()).hexdigest() == MNIST_MD5
    assert md["labels_md5"] == MNIST_LABELS_MD5
    assert md["path"] == str(MNIST_IMAGES.resolve())
    assert md["labels_path"] == str(MNIST_LABELS.resolve())
    assert md["crop"] is None
    assert "CC BY-SA 3.0" in md["source"]
    # pixel values are multiples of 1/255
    np.testing.assert_allclose(ds.X[:50] * 255, np.round(ds.X[:50] * 255), atol=1e-9)


@needs_mnist
def test_mnist_shared_file_crop_and_registry():
    full = load_mnist(str(MNIST_IMAGES), n_samples=100)
    ds = load_dataset("mnist", path=str(MNIST_IMAGES), crop=27)
    assert ds.X.shape == (10000, 729) and ds.lattice_shape == (27, 27)
    assert ds.metadata["crop"] == 27 and ds.metadata["crop_anchor"].startswith("centre")
    assert len(ds.target) == 10000
    # the paper's crop: the first row and column are dropped
    np.testing.assert_array_equal(ds.images()[:100, :, :, 0], full.images()[:, 1:, 1:, 0])
    # the centre of the 27x27 lattice is one pixel
    assert ds.lattice.center == (13, 13)
    via_top_level = markovphase.load_dataset("mnist", path=str(MNIST_IMAGES), n_samples=10)
    assert via_top_level.X.shape == (10, 784)


@needs_mnist
def test_mnist_env_variable(monkeypatch):
    monkeypatch.setenv("MARKOVPHASE_MNIST", str(MNIST_IMAGES))
    ds = load_mnist(n_samples=3)
    assert ds.X.shape == (3, 784) and ds.target.shape == (3,)


def test_mnist_bundled_without_path(monkeypatch):
    monkeypatch.delenv("MARKOVPHASE_MNIST", raising=False)
    ds = load_dataset("mnist", n_samples=5)
    assert ds.metadata["bundled"] and ds.metadata["md5"] == MNIST_MD5
    assert ds.metadata["labels_md5"] == MNIST_LABELS_MD5
    assert ds.X.shape == (5, 784) and ds.target.tolist() == [7, 2, 1, 0, 4]


def test_mnist_paper_crop_is_images_1_1(monkeypatch):
    """crop=27 is the authors' images[:, 1:, 1:] / 255; its centre (13, 13) is pixel (14, 14)."""
    monkeypatch.delenv("MARKOVPHASE_MNIST", raising=False)
    images, _ = read_idx(mnist_module.bundled_mnist()[0])
    ds = load_mnist(crop=27, n_samples=200)
    np.testing.assert_array_equal(ds.images()[..., 0], images[:200, 1:, 1:] / 255.0)
    np.testing.assert_array_equal(ds.images()[:, 13, 13, 0], images[:200, 14, 14] / 255.0)
    ds26 = load_mnist(crop=26, n_samples=10)
    np.testing.assert_array_equal(ds26.images()[..., 0], images[:10, 1:27, 1:27] / 255.0)
    assert [mnist_module.crop_window(28, k) for k in (28, 27, 26, 24)] == [
        slice(0, 28), slice(1, 28), slice(1, 27), slice(2, 26)]


def test_mnist_bundled_file_is_md5_checked(monkeypatch, tmp_path, small_mnist):
    images, labels = small_mnist
    ipath = write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images, compress=True)
    lpath = write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels, compress=True)
    monkeypatch.delenv("MARKOVPHASE_MNIST", raising=False)
    monkeypatch.setattr(mnist_module, "bundled_mnist", lambda: (str(ipath), str(lpath)))
    with pytest.raises(ValueError, match="bundled MNIST file .* has MD5 .*expected 9fb629c4"):
        load_mnist()


# --------------------------------------------------------------------------- mnist: small files
@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, small_mnist, compress):
    images, labels = small_mnist
    ext = ".gz" if compress else ""
    ipath = write_idx(tmp_path / f"train-images-idx3-ubyte{ext}", images, compress)
    write_idx(tmp_path / f"train-labels-idx1-ubyte{ext}", labels, compress)
    ds = load_mnist(str(ipath))
    assert ds.lattice_shape == (5, 6)
    np.testing.assert_array_equal(ds.X, images.reshape(7, -1) / 255.0)
    np.testing.assert_array_equal(ds.target, labels)  # found as the sibling file
    assert ds.target.dtype == np.int64
    assert ds.metadata["md5"] == hashlib.md5(ipath.read_bytes()).hexdigest()

    ds = load_mnist(str(ipath), crop=4, n_samples=3)
    # centred window; an odd surplus drops one pixel at the start (5 -> [1:5], 6 -> [1:5])
    np.testing.assert_array_equal(ds.images()[..., 0], images[:3, 1:5, 1:5] / 255.0)
    np.testing.assert_array_equal(ds.target, labels[:3])


def test_idx_compression_detected_by_content(tmp_path, small_mnist):
    images, labels = small_mnist
    # gzip content under a name without .gz, raw content under a name with .gz
    ipath = write_idx(tmp_path / "a-images-idx3-ubyte", images, compress=True)
    lpath = write_idx(tmp_path / "odd-name.gz", labels, compress=False)
    ds = load_mnist(str(ipath), labels_path=str(lpath))
    np.testing.assert_array_equal(ds.X, images.reshape(7, -1) / 255.0)
    np.testing.assert_array_equal(ds.target, labels)


def test_idx_no_sibling_gives_no_target(tmp_path, small_mnist):
    images, _ = small_mnist
    ds = load_mnist(str(write_idx(tmp_path / "t-images-idx3-ubyte", images)))
    assert ds.target is None and ds.metadata["labels_path"] is None


@pytest.mark.parametrize("dtype", ["i1", "i2", "i4", "f4", "f8"])
@pytest.mark.parametrize("compress", [False, True])
def test_idx_other_dtypes(tmp_path, dtype, compress):
    rng = np.random.default_rng(2)
    arr = (rng.normal(size=(4, 3, 3)) * 50).astype(dtype)
    path = write_idx(tmp_path / "x.idx", arr, compress)
    back, _ = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, arr)
    ds = load_mnist(str(path))  # non-ubyte values are not rescaled
    np.testing.assert_array_equal(ds.X, arr.reshape(4, -1).astype(np.float64))


def test_idx_bad_magic(tmp_path):
    path = tmp_path / "not-idx.gz"
    path.write_bytes(b"PK\x03\x04 this is a zip, not IDX")
    with pytest.raises(ValueError, match=rf"{path}.*not an IDX file"):
        load_mnist(str(path))
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=rf"{path}.*not an IDX file"):
        load_mnist(str(path))
    path.write_bytes(bytes([0, 0, 0x42, 3]) + b"\0" * 12)
    with pytest.raises(ValueError, match=rf"{path}.*type code 0x42"):
        load_mnist(str(path))


def test_idx_corrupt_gzip(tmp_path, small_mnist):
    images, _ = small_mnist
    good = gzip.compress(idx_bytes(images))
    path = tmp_path / "corrupt-images-idx3-ubyte.gz"
    path.write_bytes(good[:10] + bytes(b ^ 0xFF for b in good[10:]))
    with pytest.raises(ValueError, match=rf"{path}.*corrupt or truncated gzip"):
        load_mnist(str(path))
    path.write_bytes(good[: len(good) // 2])  # truncated gzip stream
    with pytest.raises(ValueError, match=rf"{path}.*gzip"):
        load_mnist(str(path))


@pytest.mark.parametrize("compress", [False, True])
def test_idx_truncated(tmp_path, small_mnist, compress):
    images, _ = small_mnist
    data = idx_bytes(images)
    path = tmp_path / "short-images-idx3-ubyte"
    for cut in (len(data) - 1, 10):  # data short, header short
        body = data[:cut]
        path.write_bytes(gzip.compress(body) if compress else body)
        with pytest.raises(ValueError, match=rf"{path}.*truncated"):
            load_mnist(str(path))
    path.write_bytes(data + b"\0\0")
    with pytest.raises(ValueError, match=rf"{path}.*unexpected bytes"):
        load_mnist(str(path))


def test_mnist_errors(tmp_path, small_mnist):
    images, labels = small_mnist
    missing = tmp_path / "nope-images-idx3-ubyte.gz"
    with pytest.raises(FileNotFoundError, match=str(missing)):
        load_mnist(str(missing))
    ipath = write_idx(tmp_path / "m-images-idx3-ubyte", images)
    for crop in (0, 6, -1):  # smallest side is 5
        with pytest.raises(ValueError, match=rf"crop={crop} must be between 1 and .*5.*{ipath}"):
            load_mnist(str(ipath), crop=crop)
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "gone")):
        load_mnist(str(ipath), labels_path=str(tmp_path / "gone"))
    lpath = write_idx(tmp_path / "few-labels", labels[:5])
    with pytest.raises(ValueError, match=rf"{lpath} has 5 labels but .*{ipath} has 7 images"):
        load_mnist(str(ipath), labels_path=str(lpath))
    # a label file passed as images
    with pytest.raises(ValueError, match=rf"{lpath}.*label file\?"):
        load_mnist(str(lpath))
    with pytest.raises(ValueError, match="n_samples=8 must be between 1 and 7"):
        load_mnist(str(ipath), n_samples=8)
    with pytest.raises(IsADirectoryError, match=str(tmp_path)):
        load_mnist(str(tmp_path))


# --------------------------------------------------------------------------- npz / arrays
def test_npz_flattened_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(20, 12))
    y = rng.integers(0, 3, size=20)
    path = tmp_path / "data.npz"
    np.savez(path, X=X, y=y)
    ds = load_npz(str(path), lattice_shape="3,4")
    assert ds.name == "npz" and ds.lattice_shape == (3, 4) and ds.n_channels == 1
    np.testing.assert_array_equal(ds.X, X)
    np.testing.assert_array_equal(ds.target, y)
    assert ds.metadata["md5"] == hashlib.md5(path.read_bytes()).hexdigest()
    ds = load_npz(str(path), lattice_shape=(2, 2), n_channels=3, periodic=True, target_key=None)
    assert ds.lattice_shape == (2, 2) and ds.n_channels == 3 and ds.periodic
    assert ds.target is None
    np.testing.assert_array_equal(ds.images(), X.reshape(20, 2, 2, 3))
    # via the registry, with the CLI's string form
    ds = load_dataset("npz", path=str(path), lattice_shape="12")
    assert ds.lattice_shape == (12,)


def test_npz_image_shaped_round_trip(tmp_path):
    rng = np.random.default_rng(4)
    imgs = rng.random((6, 4, 5, 3)).astype(np.float32)
    path = tmp_path / "imgs.npz"
    np.savez(path, images=imgs, labels=np.arange(6))
    ds = load_npz(str(path), key="images", n_channels=3, target_key="labels")
    assert ds.lattice_shape == (4, 5) and ds.n_channels == 3
    assert ds.X.shape == (6, 60) and ds.X.dtype == np.float64
    np.testing.assert_array_equal(ds.images(), imgs.astype(np.float64))
    np.testing.assert_array_equal(ds.target, np.arange(6))
    # one channel: lattice is everything after the sample axis
    np.save(tmp_path / "gray.npy", imgs[..., 0])
    ds = load_npz(str(tmp_path / "gray.npy"))
    assert ds.lattice_shape == (4, 5) and ds.n_channels == 1 and ds.target is None
    # (n, h, w, 1) is read as one channel
    ds = from_array(imgs[..., :1])
    assert ds.lattice_shape == (4, 5) and ds.n_channels == 1
    ds = from_array(imgs[..., :1], lattice_shape=(4, 5))
    assert ds.lattice_shape == (4, 5)
    # 3-D lattice
    vol = rng.random((3, 2, 3, 4))
    ds = from_array(vol, target=[0, 1, 2], name="vol")
    assert ds.lattice_shape == (2, 3, 4) and ds.name == "vol"


def test_npz_errors(tmp_path):
    X = np.zeros((5, 12))
    path = tmp_path / "d.npz"
    np.savez(path, X=X, y=np.arange(5))
    with pytest.raises(ValueError, match=rf"{path}.*flattened.*lattice_shape"):
        load_npz(str(path))
    with pytest.raises(ValueError, match=r"12 features .*lattice_shape=\(5, 5\).* needs 25"):
        load_npz(str(path), lattice_shape="5,5")
    with pytest.raises(KeyError, match=r"no array 'Z'.*\['X', 'y'\]"):
        load_npz(str(path), key="Z", lattice_shape="12")
    with pytest.raises(KeyError, match="no array 'labels'"):
        load_npz(str(path), lattice_shape="12", target_key="labels")
    with pytest.raises(ValueError, match="not a list of integers"):
        load_npz(str(path), lattice_shape="a,b")
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "none.npz")):
        load_npz(str(tmp_path / "none.npz"))
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"hello")
    with pytest.raises(ValueError, match=str(bad)):
        load_npz(str(bad))
    Xn = np.ones((4, 6))
    Xn[2, 3] = np.nan
    np.savez(path, X=Xn)
    with pytest.raises(ValueError, match=rf"{path}.*1 NaN/inf value.*sample 2"):
        load_npz(str(path), lattice_shape="6")
    # default target_key 'y' absent: no target
    np.savez(path, X=np.ones((4, 6)))
    assert load_npz(str(path), lattice_shape="2,3").target is None

    with pytest.raises(ValueError, match="sample axis"):
        from_array(np.zeros(5), lattice_shape=5)
    with pytest.raises(ValueError, match="no samples"):
        from_array(np.zeros((0, 4)), lattice_shape=4)
    with pytest.raises(ValueError, match="channels last"):
        from_array(np.zeros((2, 3, 4, 4)), n_channels=3)
    with pytest.raises(ValueError, match="contradicts lattice_shape"):
        from_array(np.zeros((2, 3, 4)), lattice_shape=(4, 3))
    with pytest.raises(ValueError, match=r"target has shape \(3,\).*\(2,\)"):
        from_array(np.zeros((2, 3)), lattice_shape=3, target=[1, 2, 3])
    with pytest.raises(TypeError, match="real numbers"):
        from_array(np.array([["a", "b"]]), lattice_shape=2)
    with pytest.raises(ValueError, match="n_channels must be >= 1"):
        from_array(np.zeros((2, 3)), lattice_shape=3, n_channels=0)
    with pytest.raises(ValueError, match="sizes >= 1"):
        from_array(np.zeros((2, 3)), lattice_shape=(3, 0))


# --------------------------------------------------------------------------- digits
def test_digits():
    ds = load_digits()
    assert ds.name == "digits" and ds.X.shape == (1797, 64) and ds.lattice_shape == (8, 8)
    assert ds.X.min() == 0.0 and ds.X.max() == 1.0
    assert set(np.unique(ds.target)) == set(range(10))
    raw = load_digits(n_samples=10, scale=False)
    assert raw.X.shape == (10, 64) and raw.X.max() == 16.0
    np.testing.assert_array_equal(raw.X / 16, ds.X[:10])
    with pytest.raises(ValueError, match="n_samples=2000 must be between 1 and 1797"):
        load_digits(n_samples=2000)


# --------------------------------------------------------------------------- gaussian field
@pytest.mark.parametrize(
    "shape", [(5,), (2,), (1,), (6, 4), (2, 3), (1, 4), (3, 2, 4), (2, 2, 2), (3, 3, 3)]
)
@pytest.mark.parametrize("mass", [0.3, 1.0])
def test_gaussian_field_fft_covariance_is_inverse_precision(shape, mass):
    Q = gaussian_field_precision(shape, mass)
    C = gaussian_field_covariance(shape, mass)
    n = int(np.prod(shape))
    assert Q.shape == C.shape == (n, n)
    np.testing.assert_allclose(C, C.T, atol=1e-14)
    np.testing.assert_allclose(C, np.linalg.inv(Q), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(Q @ C, np.eye(n), atol=1e-10)
    # eigenvalues of C are the spectrum
    np.testing.assert_allclose(
        np.sort(np.linalg.eigvalsh(C)), np.sort(gaussian_field_spectrum(shape, mass).ravel()),
        rtol=1e-10,
    )


def _periodic_l1(shape):
    coords = np.array(np.unravel_index(np.arange(int(np.prod(shape))), shape)).T
    d = np.abs(coords[:, None, :] - coords[None, :, :])
    d = np.minimum(d, np.array(shape) - d)
    return d.sum(axis=-1)


@pytest.mark.parametrize("shape", [(8, 8), (7,), (4, 3, 5)])
def test_gaussian_field_precision_is_nearest_neighbour(shape):
    mass = 0.5
    Q = np.linalg.inv(gaussian_field_covariance(shape, mass))  # the exact precision
    dist = _periodic_l1(shape)
    assert np.abs(Q[dist > 1]).max() < 1e-10
    np.testing.assert_allclose(np.diag(Q), mass**2 + 2 * len(shape), atol=1e-10)
    np.testing.assert_allclose(Q[dist == 1], -1.0, atol=1e-10)
    np.testing.assert_array_equal(gaussian_field_precision(shape, mass)[dist > 1], 0.0)


def test_gaussian_field_precision_small_sides():
    # side 2: the two neighbours are one site, two bonds; side 1: self-loops cancel
    np.testing.assert_array_equal(
        gaussian_field_precision((2,), 1.0), [[3.0, -2.0], [-2.0, 3.0]]
    )
    np.testing.assert_array_equal(gaussian_field_precision((1,), 0.5), [[0.25]])
    Q = gaussian_field_precision((1, 3), 1.0)  # a 3-ring
    np.testing.assert_array_equal(Q, [[3, -1, -1], [-1, 3, -1], [-1, -1, 3]])


def test_gaussian_field_sample_covariance():
    shape, mass, n = (8, 8), 0.5, 20000
    X = sample_gaussian_field(shape, mass, n, random_state=12345).reshape(n, -1)
    C = gaussian_field_covariance(shape, mass)
    S = X.T @ X / n  # the mean is known to be 0
    # Var of the sample covariance entry of a Gaussian: (C_ii C_jj + C_ij^2) / n
    se = np.sqrt((np.outer(np.diag(C), np.diag(C)) + C**2) / n)
    z = np.abs(S - C) / se
    assert z.max() < 5.0, z.max()
    assert abs(X.mean()) < 5 * np.sqrt(C.sum() / n) / 64


@pytest.mark.parametrize("shape", [(9,), (4, 4, 4)])
def test_gaussian_field_sampling_other_dimensions(shape):
    n = 40000
    X = sample_gaussian_field(shape, 0.7, n, random_state=0).reshape(n, -1)
    C = gaussian_field_covariance(shape, 0.7)
    se = np.sqrt((np.outer(np.diag(C), np.diag(C)) + C**2) / n)
    assert (np.abs(X.T @ X / n - C) / se).max() < 5.5


def test_gaussian_field_sampling_reproducible_and_chunked(monkeypatch):
    a = sample_gaussian_field((4, 4), 0.5, 10, random_state=7)
    b = sample_gaussian_field((4, 4), 0.5, 10, random_state=7)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (10, 4, 4)
    assert not np.array_equal(a, sample_gaussian_field((4, 4), 0.5, 10, random_state=8))
    # batching (3 samples per FFT batch) draws the same noise stream
    from markovphase.datasets import gaussian_field

    monkeypatch.setattr(gaussian_field, "BATCH_VALUES", 48)
    np.testing.assert_allclose(sample_gaussian_field((4, 4), 0.5, 10, random_state=7), a,
                               atol=1e-12)


def test_load_gaussian_field():
    ds = load_gaussian_field(L=6, mass=0.8, n_samples=50)
    assert isinstance(ds, Dataset) and ds.name == "gaussian-field"
    assert ds.X.shape == (50, 36) and ds.lattice_shape == (6, 6) and ds.periodic
    np.testing.assert_array_equal(ds.covariance, gaussian_field_covariance((6, 6), 0.8))
    assert ds.metadata["mass"] == 0.8 and ds.metadata["shape"] == (6, 6)
    assert "2 - 2 cos k_i" in ds.metadata["spectrum"]
    ds3 = load_dataset("gaussian-field", L=4, ndim=3, n_samples=5)
    assert ds3.lattice_shape == (4, 4, 4) and ds3.X.shape == (5, 64)
    ds1 = load_dataset("gaussian-field", shape="10", n_samples=5)
    assert ds1.lattice_shape == (10,)
    dsr = load_gaussian_field(shape=(3, 5), n_samples=5)
    assert dsr.lattice_shape == (3, 5) and dsr.covariance.shape == (15, 15)
    np.testing.assert_array_equal(
        load_gaussian_field(L=4, n_samples=5, random_state=3).X,
        load_gaussian_field(L=4, n_samples=5, random_state=3).X,
    )


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(mass=0.0), ValueError, "mass=0.0 must be finite and > 0"),
        (dict(mass=-1.0), ValueError, "mass"),
        (dict(mass=float("nan")), ValueError, "mass"),
        (dict(L=0), ValueError, "L must be >= 1"),
        (dict(ndim=0), ValueError, "ndim must be >= 1"),
        (dict(n_samples=0), ValueError, "n_samples must be >= 1"),
        (dict(shape=(4, 0)), ValueError, "shape"),
        (dict(shape="4,x"), ValueError, "shape"),
    ],
)
def test_gaussian_field_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        load_gaussian_field(**{"n_samples": 3, **kwargs})


# --------------------------------------------------------------------------- image patches
def test_image_patches():
    ds = load_image_patches(patch_size=6, n_samples=500)
    assert ds.name == "image-patches" and ds.X.shape == (500, 36)
    assert ds.lattice_shape == (6, 6) and ds.n_channels == 1
    assert ds.X.min() >= 0.0 and ds.X.max() <= 1.0 and ds.X.std() > 0.05
    assert set(np.unique(ds.target)) <= {0, 1}
    rgb = load_image_patches(patch_size=5, n_samples=200, grayscale=False, random_state=1)
    assert rgb.X.shape == (200, 75) and rgb.n_channels == 3
    assert rgb.X.min() >= 0.0 and rgb.X.max() <= 1.0
    # patch content matches the source image at the recorded corner
    from sklearn.datasets import load_sample_images

    images = load_sample_images().images
    rng = np.random.default_rng(1)  # the documented draw order
    corners = np.column_stack(
        [rng.integers(2, size=200), rng.integers(423, size=200), rng.integers(636, size=200)]
    )
    np.testing.assert_array_equal(rgb.target, corners[:, 0])
    for k in (0, 17, 199):
        img, r, c = corners[k]
        np.testing.assert_array_equal(
            rgb.images()[k], images[img][r : r + 5, c : c + 5] / 255.0
        )
    # grayscale is the luminance of the same patch
    gray = load_image_patches(patch_size=5, n_samples=200, grayscale=True, random_state=1)
    np.testing.assert_allclose(
        gray.images()[..., 0], rgb.images() @ np.array([0.299, 0.587, 0.114]), atol=1e-12
    )
    with pytest.raises(ValueError, match="patch_size=500 must be at most 427"):
        load_image_patches(patch_size=500, n_samples=2)
    with pytest.raises(ValueError, match="patch_size must be >= 1"):
        load_image_patches(patch_size=0, n_samples=2)


# --------------------------------------------------------------------------- registry contract
ADAPTERS = ["mnist", "npz", "digits", "gaussian-field", "image-patches"]


def test_registry_unknown_parameter():
    with pytest.raises(TypeError, match="bogus"):
        load_dataset("digits", bogus=1)
    with pytest.raises(TypeError, match="patch"):
        load_dataset("image-patches", patch=3)


@pytest.mark.parametrize("name", ADAPTERS)
def test_adapter_signatures_are_cli_friendly(name):
    from markovphase import plugins

    loader = plugins.get("dataset", name)
    doc = (loader.__doc__ or "").strip().splitlines()
    assert doc and doc[0].strip().endswith("."), "first docstring line is a one-line summary"
    simple = ("int", "float", "str", "bool", "None", "tuple")
    for p in dataset_parameters(name).values():
        if name == "npz" and p.name == "path":
            assert p.default is p.empty  # the one required parameter
        else:
            assert p.default is not p.empty, f"{name}: {p.name} has no default"
        assert p.annotation is not p.empty, f"{name}: {p.name} has no annotation"
        parts = [s.strip() for s in str(p.annotation).split("|")]
        assert all(s in simple for s in parts), f"{name}: {p.name}: {p.annotation}"


def test_datasets_command_lists_adapters():
    from click.testing import CliRunner

    from markovphase.cli import cli

    result = CliRunner().invoke(cli, ["datasets"])
    assert result.exit_code == 0, result.output
    for name in ADAPTERS:
        assert name in result.output
    assert "--patch-size = 8" in result.output
