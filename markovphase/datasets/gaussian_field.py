r"""The lattice massive Gaussian free field on a periodic lattice.

On a torus of shape ``(L_1, ..., L_d)`` the field ``phi`` has density
``exp(-phi^T Q phi / 2)`` with the nearest-neighbour precision

    Q = m^2 I + Delta,

``Delta`` the graph Laplacian of the periodic lattice (``2 d`` on the
diagonal, ``-1`` per neighbour). Q is circulant, diagonalised by the Fourier
transform, with eigenvalues ``m^2 + sum_i (2 - 2 cos k_i)`` at the wave vectors
``k_i = 2 pi n_i / L_i``; the covariance ``inv(Q)`` is circulant with the
spectrum

    S(k) = 1 / (m^2 + sum_i (2 - 2 cos k_i)).

A side of length 2 makes a site's two neighbours along that axis the same
site: the entry is then ``-2`` (two bonds), a side of length 1 makes them the
site itself (the diagonal term of that axis cancels: ``2 - 1 - 1 = 0``); both
are what the spectrum says, so ``Q @ inv(Q) = I`` holds for every shape.
Every site is Markov with respect to its nearest neighbours, the textbook
example of a distribution with a finite Markov length; the correlation length
is about ``1 / m`` for small ``m``.
"""

from __future__ import annotations

import numpy as np

from ._util import check_positive_int, parse_shape
from .base import Dataset

__all__ = [
    "gaussian_field_spectrum",
    "gaussian_field_precision",
    "gaussian_field_covariance",
    "sample_gaussian_field",
    "load_gaussian_field",
    "SPECTRUM",
]

SPECTRUM = "S(k) = 1 / (m^2 + sum_i (2 - 2 cos k_i)), k_i = 2 pi n_i / L_i"

#: above this many sites load_gaussian_field leaves ``covariance=None`` (dense n^2 floats)
MAX_COVARIANCE_SITES = 8192

#: white-noise values drawn per FFT batch in sample_gaussian_field (~128 MiB)
BATCH_VALUES = 1 << 24


def _check(shape, mass) -> tuple[tuple[int, ...], float]:
    shape = parse_shape(shape, "shape")
    if isinstance(mass, bool) or not isinstance(mass, (int, float, np.integer, np.floating)):
        raise TypeError(f"mass must be a real number, got {mass!r}")
    mass = float(mass)
    if not np.isfinite(mass) or mass <= 0:
        raise ValueError(
            f"mass={mass!r} must be finite and > 0 (at m = 0 the zero mode makes the "
            "covariance infinite)"
        )
    return shape, mass


def _eigenvalues(shape: tuple[int, ...], mass: float, rfft: bool = False) -> np.ndarray:
    """``m^2 + sum_i (2 - 2 cos k_i)`` on the (half, for ``rfft``) Fourier grid."""
    lam = np.full((), mass**2)
    for axis, L in enumerate(shape):
        n = np.arange(L // 2 + 1 if rfft and axis == len(shape) - 1 else L)
        term = 2.0 - 2.0 * np.cos(2.0 * np.pi * n / L)
        lam = np.add.outer(lam, term) if lam.ndim else lam + term
    return lam


def gaussian_field_spectrum(shape, mass: float) -> np.ndarray:
    """The spectrum ``S(k)`` (eigenvalues of the covariance) on the FFT grid, shape ``shape``.

    Parameters
    ----------
    shape : int, tuple of int or str
        Lattice sides ``(L_1, ..., L_d)``.
    mass : float
        The mass ``m > 0`` (in inverse lattice spacings).
    """
    shape, mass = _check(shape, mass)
    return 1.0 / _eigenvalues(shape, mass)


def _circulant(kernel: np.ndarray) -> np.ndarray:
    """Dense ``M[x, y] = kernel[(y - x) mod L]`` over C-order flattened sites."""
    shape = kernel.shape
    n = kernel.size
    itype = np.int32 if n * n < 2**31 else np.intp
    coords = np.unravel_index(np.arange(n, dtype=itype), shape)
    index = np.zeros((n, n), dtype=itype)
    stride = 1
    for axis in reversed(range(len(shape))):
        c = coords[axis].astype(itype)
        diff = c[None, :] - c[:, None]
        diff %= shape[axis]
        if stride != 1:
            diff *= stride
        index += diff
        stride *= shape[axis]
    return kernel.ravel()[index]


def gaussian_field_precision(shape, mass: float) -> np.ndarray:
    """The exact precision matrix ``Q = m^2 I + Laplacian`` (dense, periodic lattice).

    Parameters
    ----------
    shape : int, tuple of int or str
        Lattice sides ``(L_1, ..., L_d)``; sites are flattened in C order.
    mass : float
        The mass ``m > 0``.

    Returns
    -------
    ndarray of shape (n_sites, n_sites)
        ``m^2 + 2 d`` on the diagonal, ``-1`` for each nearest-neighbour bond
        (bonds add up: ``-2`` across a side of length 2; a side of length 1
        contributes nothing), ``0`` elsewhere.
    """
    shape, mass = _check(shape, mass)
    kernel = np.zeros(shape)
    origin = (0,) * len(shape)
    kernel[origin] = mass**2 + 2.0 * len(shape)
    for axis, L in enumerate(shape):
        for step in (1, -1):
            at = [0] * len(shape)
            at[axis] = step % L
            np.add.at(kernel, tuple(at), -1.0)  # the two neighbours may coincide
    return _circulant(kernel)


def gaussian_field_covariance(shape, mass: float) -> np.ndarray:
    """The exact covariance ``inv(Q)``, computed from the spectrum by FFT (no inversion).

    ``shape`` and ``mass`` as for :func:`gaussian_field_precision`. Returns the
    ``(n_sites, n_sites)`` matrix ``C[x, y] = c[(y - x) mod L]`` with
    ``c = ifftn(S)`` the correlation function (real and even, since ``S`` is).
    """
    shape, mass = _check(shape, mass)
    c = np.fft.ifftn(1.0 / _eigenvalues(shape, mass)).real
    return _circulant(c)


def sample_gaussian_field(
    shape, mass: float, n_samples: int, random_state=None
) -> np.ndarray:
    """Exact samples of the field by FFT, shape ``(n_samples, *shape)``.

    White noise ``w ~ N(0, I)`` is filtered by the circulant square root of
    the covariance, ``phi = ifft(sqrt(S) * fft(w))``, whose covariance is
    exactly ``circulant(S) = inv(Q)`` (``S`` is even, so ``phi`` is real).

    Parameters
    ----------
    shape : int, tuple of int or str
        Lattice sides.
    mass : float
        The mass ``m > 0``.
    n_samples : int
        Number of independent samples.
    random_state : int, numpy.random.Generator or None
        Seed of ``numpy.random.default_rng``.
    """
    shape, mass = _check(shape, mass)
    n_samples = check_positive_int(n_samples, "n_samples")
    rng = np.random.default_rng(random_state)
    axes = tuple(range(1, len(shape) + 1))
    amp = 1.0 / np.sqrt(_eigenvalues(shape, mass, rfft=True))
    out = np.empty((n_samples, *shape))
    chunk = max(1, BATCH_VALUES // int(np.prod(shape)))
    for start in range(0, n_samples, chunk):
        stop = min(start + chunk, n_samples)
        w = rng.standard_normal((stop - start, *shape))
        out[start:stop] = np.fft.irfftn(np.fft.rfftn(w, axes=axes) * amp, s=shape, axes=axes)
    return out


def load_gaussian_field(
    L: int = 16,
    ndim: int = 2,
    shape: tuple | str | None = None,
    mass: float = 0.5,
    n_samples: int = 10000,
    random_state: int | None = 0,
) -> Dataset:
    """Massive Gaussian free field on a periodic lattice: exact covariance, finite Markov length.

    Parameters
    ----------
    L : int, default=16
        Side of the ``L^ndim`` lattice (ignored when ``shape`` is given).
    ndim : int, default=2
        Number of spatial axes (ignored when ``shape`` is given).
    shape : tuple of int, str or None, default=None
        The lattice sides, e.g. ``(16, 32)`` or ``"16,32"``; overrides ``L``
        and ``ndim``.
    mass : float, default=0.5
        The mass ``m > 0`` in inverse lattice spacings; the correlation
        length is about ``1 / m`` sites.
    n_samples : int, default=10000
        Number of independent exact samples (FFT sampling).
    random_state : int or None, default=0
        Seed of the sampler.

    Returns
    -------
    Dataset
        ``X`` float64 of shape ``(n_samples, n_sites)``: dimensionless field
        values, mean 0, covariance ``inv(m^2 I + Laplacian)``;
        ``periodic=True``; ``covariance`` the exact ``(n_sites, n_sites)``
        covariance (``None`` above 8192 sites, where it would need over 512 MiB);
        ``metadata``: ``mass``, ``shape``, ``spectrum``, ``random_state``.
    """
    if shape is None:
        L = check_positive_int(L, "L")
        ndim = check_positive_int(ndim, "ndim")
        shape = (L,) * ndim
    shape, mass = _check(shape, mass)
    X = sample_gaussian_field(shape, mass, n_samples, random_state)
    n_sites = int(np.prod(shape))
    cov = gaussian_field_covariance(shape, mass) if n_sites <= MAX_COVARIANCE_SITES else None
    return Dataset(
        X=X.reshape(X.shape[0], -1),
        lattice_shape=shape,
        n_channels=1,
        target=None,
        periodic=True,
        covariance=cov,
        name="gaussian-field",
        metadata={
            "mass": mass,
            "shape": shape,
            "spectrum": SPECTRUM,
            "precision": "Q = m^2 I + Laplacian of the periodic lattice (nearest neighbour)",
            "random_state": random_state,
            "n_samples": int(X.shape[0]),
            "covariance": "exact" if cov is not None
            else f"omitted: {n_sites} sites > {MAX_COVARIANCE_SITES}",
        },
    )
