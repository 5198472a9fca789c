"""Lattice geometry: sites, channels and the tripartition A / B(r) / C.

A lattice has a spatial ``shape`` (1-D, 2-D, 3-D, ...) and ``n_channels``
values per site; a sample is flattened C-order with channels last, so feature
``j`` belongs to site ``j // n_channels``. Around a region ``A`` (one site, or
an ``a``-wide hypercube patch) the ring ``B(r)`` holds the sites at Chebyshev
(L-infinity) distance 1..r from A and ``C`` every other site. Borders are
open (distances clipped at the edge) or periodic (distances wrap).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


class Regions(NamedTuple):
    """Feature indices (into a flattened sample) of the three regions."""

    A: np.ndarray
    B: np.ndarray
    C: np.ndarray


def _as_int(value, name: str) -> int:
    """``value`` as an int; a float must be integral (``2.0``, not ``2.5``)."""
    try:
        as_float = float(value)
        out = int(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an integer, got {value!r}") from None
    if out != as_float:
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return out


def _as_shape(shape) -> tuple[int, ...]:
    if np.ndim(shape) == 0:
        shape = (shape,)
    try:
        shape = tuple(_as_int(s, "lattice_shape") for s in shape)
    except TypeError:
        raise TypeError(f"lattice_shape must be an int or a tuple of ints, got {shape!r}") from None
    if not shape or any(s < 1 for s in shape):
        raise ValueError(f"lattice_shape must be non-empty with positive sizes, got {shape!r}")
    return shape


@dataclass(frozen=True)
class Lattice:
    """A rectangular lattice of sites with channels.

    Parameters
    ----------
    shape : int or tuple of int
        Spatial size per axis, e.g. ``(28, 28)``.
    n_channels : int, default=1
        Values per site (channels last in the flattened vector).
    periodic : bool, default=False
        Wrap distances around every axis (torus) instead of clipping at borders.
    """

    shape: tuple[int, ...]
    n_channels: int = 1
    periodic: bool = False

    def __post_init__(self):
        object.__setattr__(self, "shape", _as_shape(self.shape))
        n_channels = _as_int(self.n_channels, "n_channels")
        if n_channels < 1:
            raise ValueError(f"n_channels must be >= 1, got {self.n_channels!r}")
        object.__setattr__(self, "n_channels", n_channels)
        object.__setattr__(self, "periodic", bool(self.periodic))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def n_sites(self) -> int:
        return int(np.prod(self.shape))

    @property
    def n_features(self) -> int:
        return self.n_sites * self.n_channels

    @property
    def center(self) -> tuple[int, ...]:
        """The central site ``(s // 2 for each axis)``; odd sizes make it exact."""
        return tuple(s // 2 for s in self.shape)

    # -- geometry -----------------------------------------------------------
    def _check_site(self, site, patch: int) -> tuple[int, ...]:
        if site is None:
            site = self.center
        if np.ndim(site) > 1:
            raise ValueError(f"site={site!r} must be one coordinate tuple, got a nested sequence")
        site = (site,) if np.ndim(site) == 0 else tuple(site)
        site = tuple(_as_int(c, "site") for c in site)
        if len(site) != self.ndim:
            raise ValueError(
                f"site={site!r} has {len(site)} coordinates; "
                f"the lattice {self.shape} has {self.ndim}"
            )
        patch = _as_int(patch, "patch")
        if patch < 1 or patch > min(self.shape):
            raise ValueError(
                f"patch={patch} must be between 1 and the smallest side {min(self.shape)}"
            )
        for c, s in zip(site, self.shape, strict=True):
            if not 0 <= c < s:
                raise ValueError(f"site={site!r} lies outside the lattice of shape {self.shape}")
        return site

    def patch_bounds(self, site=None, patch: int = 1) -> list[tuple[int, int]]:
        """Per axis, the inclusive coordinate range ``[lo, hi]`` of A.

        A ``patch``-wide A starts ``(patch - 1) // 2`` sites before ``site``, so
        odd patches are centred on it. On open lattices the patch is shifted to
        stay inside.
        """
        site = self._check_site(site, patch)
        patch = _as_int(patch, "patch")
        bounds = []
        for c, s in zip(site, self.shape, strict=True):
            lo = c - (patch - 1) // 2
            if not self.periodic:
                lo = min(max(lo, 0), s - patch)
            bounds.append((lo, lo + patch - 1))
        return bounds

    def distances(self, site=None, patch: int = 1) -> np.ndarray:
        """Chebyshev distance from A to every site, shape ``self.shape`` (0 on A).

        Per axis the distance of coordinate ``x`` to A's range ``[lo, hi]`` is
        ``max(lo - x, x - hi, 0)``, taken modulo the side on periodic lattices;
        the site distance is the maximum over axes.
        """
        bounds = self.patch_bounds(site, patch)
        per_axis = []
        for (lo, hi), s in zip(bounds, self.shape, strict=True):
            x = np.arange(s)
            if self.periodic:
                # distance on the ring to the nearest point of the arc lo..hi
                off = (x - lo) % s
                width = hi - lo
                d = np.where(off <= width, 0, np.minimum(off - width, s - off))
            else:
                d = np.maximum(np.maximum(lo - x, x - hi), 0)
            per_axis.append(d)
        grids = np.meshgrid(*per_axis, indexing="ij")
        return np.maximum.reduce(grids) if len(grids) > 1 else grids[0]

    def max_radius(self, site=None, patch: int = 1) -> int:
        """The largest distance from A to any site: ``B(max_radius)`` holds every other site."""
        return int(self.distances(site, patch).max())

    def covering_radius(self) -> int:
        """The smallest radius whose L-infinity ball around *every* site holds the whole
        lattice: ``max(side - 1)`` on an open lattice, ``max(side // 2)`` on a periodic one.
        A local operator of a larger radius sees nothing more."""
        sides = np.asarray(self.shape)
        return int((sides // 2 if self.periodic else sides - 1).max())

    def site_regions(self, site=None, radius: int = 1, patch: int = 1) -> Regions:
        """Site indices (flat, C-order) of A, B(radius) and C.

        Raises ``ValueError`` for ``radius > max_radius`` (larger than the
        lattice around that site). ``radius == max_radius`` gives an empty C.
        """
        radius = _as_int(radius, "radius")
        d = self.distances(site, patch).ravel()
        rmax = int(d.max())
        if radius < 0 or radius > rmax:
            raise ValueError(
                f"radius={radius} is outside [0, {rmax}]: {rmax} is the largest Chebyshev distance "
                f"from A (site {self._check_site(site, patch)}, patch {patch}) on the lattice "
                f"{self.shape}{' (periodic)' if self.periodic else ''}"
            )
        return Regions(
            np.flatnonzero(d == 0),
            np.flatnonzero((d >= 1) & (d <= radius)),
            np.flatnonzero(d > radius),
        )

    def features(self, sites: np.ndarray) -> np.ndarray:
        """Feature indices of ``sites`` (every channel, channels last)."""
        sites = np.asarray(sites, dtype=np.intp)
        k = self.n_channels
        return (sites[:, None] * k + np.arange(k)[None, :]).ravel()

    def regions(self, site=None, radius: int = 1, patch: int = 1) -> Regions:
        """Feature indices of A, B(radius) and C for flattened samples."""
        return Regions(*(self.features(s) for s in self.site_regions(site, radius, patch)))

    def check_X(self, X: np.ndarray, name: str = "X") -> None:
        """Raise a clear ``ValueError`` unless ``X`` has ``n_features`` columns."""
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(
                f"{name} has shape {X.shape}; a lattice of shape {self.shape} with "
                f"{self.n_channels} channel(s) needs (n_samples, {self.n_features})"
            )


def resolve_lattice(lattice_shape, n_channels, periodic, n_features: int) -> Lattice:
    """An estimator's lattice from its parameters; ``lattice_shape=None`` is a 1-D chain.

    The one lattice builder of the estimators (probes, denoisers). Raises
    ``ValueError`` when ``n_channels`` is not a positive integer or when
    ``n_features`` (the columns of ``X``) does not fit the lattice.
    """
    if not isinstance(n_channels, numbers.Integral) or n_channels < 1:
        raise ValueError(f"n_channels={n_channels!r} must be an integer >= 1")
    if lattice_shape is None:
        if n_features % n_channels:
            raise ValueError(f"X has {n_features} features, not a multiple of "
                             f"n_channels={n_channels}")
        lattice_shape = (n_features // n_channels,)
    lat = Lattice(lattice_shape, n_channels, bool(periodic))
    if lat.n_features != n_features:
        raise ValueError(
            f"X has {n_features} features; lattice_shape={tuple(lat.shape)} with "
            f"n_channels={n_channels} needs {lat.n_features}"
        )
    return lat
