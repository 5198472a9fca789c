"""Lattice geometry: regions A / B(r) / C against a brute-force reference.

The reference below is written independently of ``markovphase.lattice``: it
builds the set of A sites from the documented patch convention (a ``patch``-wide
A starts ``(patch - 1) // 2`` sites before ``site``; shifted inside on open
lattices, wrapped on periodic ones), then loops over every site and takes the
Chebyshev distance to the nearest A site (with wrap-around on periodic axes).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from markovphase.lattice import Lattice, Regions

# --------------------------------------------------------------------------
# brute-force reference


def ref_A_sites(shape, site, patch, periodic):
    """Coordinates of A's sites (a set of tuples), from the documented convention."""
    per_axis = []
    for c, s in zip(site, shape, strict=True):
        lo = c - (patch - 1) // 2
        if periodic:
            per_axis.append([(lo + k) % s for k in range(patch)])
        else:
            lo = min(max(lo, 0), s - patch)
            per_axis.append([lo + k for k in range(patch)])
    return set(itertools.product(*per_axis))


def ref_distance(x, a, shape, periodic):
    """Chebyshev distance between two sites, wrapping on periodic lattices."""
    out = 0
    for xi, ai, s in zip(x, a, shape, strict=True):
        d = abs(xi - ai)
        if periodic:
            d = min(d, s - d)
        out = max(out, d)
    return out


def ref_distances(shape, site, patch, periodic):
    """Distance of every site (C order) to the nearest A site, as a flat list."""
    A = ref_A_sites(shape, site, patch, periodic)
    return [
        min(ref_distance(x, a, shape, periodic) for a in A)
        for x in itertools.product(*(range(s) for s in shape))
    ]


def ref_site_regions(shape, site, patch, periodic, radius):
    d = ref_distances(shape, site, patch, periodic)
    A = [i for i, di in enumerate(d) if di == 0]
    B = [i for i, di in enumerate(d) if 1 <= di <= radius]
    C = [i for i, di in enumerate(d) if di > radius]
    return A, B, C, max(d)


# --------------------------------------------------------------------------
# hypothesis strategies


@st.composite
def lattice_cases(draw, max_side=None):
    ndim = draw(st.integers(1, 3))
    side_max = max_side or {1: 13, 2: 7, 3: 4}[ndim]
    shape = tuple(draw(st.lists(st.integers(1, side_max), min_size=ndim, max_size=ndim)))
    periodic = draw(st.booleans())
    n_channels = draw(st.integers(1, 3))
    site = tuple(draw(st.integers(0, s - 1)) for s in shape)
    patch = draw(st.integers(1, min(shape)))
    return shape, n_channels, periodic, site, patch


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def features_of(sites, k):
    return np.array([s * k + c for s in sites for c in range(k)], dtype=int)


# --------------------------------------------------------------------------
# reference agreement and partition


@FAST
@given(lattice_cases(), st.data())
def test_regions_match_bruteforce(case, data):
    shape, k, periodic, site, patch = case
    lat = Lattice(shape, n_channels=k, periodic=periodic)
    d_ref = ref_distances(shape, site, patch, periodic)
    rmax = max(d_ref)
    np.testing.assert_array_equal(lat.distances(site, patch).ravel(), d_ref)
    assert lat.distances(site, patch).shape == shape
    assert lat.max_radius(site, patch) == rmax

    radius = data.draw(st.integers(0, rmax), label="radius")
    A, B, C, _ = ref_site_regions(shape, site, patch, periodic, radius)
    sr = lat.site_regions(site, radius, patch)
    np.testing.assert_array_equal(sr.A, A)
    np.testing.assert_array_equal(sr.B, B)
    np.testing.assert_array_equal(sr.C, C)

    # channel expansion: feature index = site * n_channels + channel
    fr = lat.regions(site, radius, patch)
    assert isinstance(fr, Regions)
    for got, sites in zip(fr, (A, B, C), strict=True):
        np.testing.assert_array_equal(got, features_of(sites, k))


@FAST
@given(lattice_cases(), st.data())
def test_regions_partition_every_feature(case, data):
    shape, k, periodic, site, patch = case
    lat = Lattice(shape, n_channels=k, periodic=periodic)
    radius = data.draw(st.integers(0, lat.max_radius(site, patch)), label="radius")
    A, B, C = lat.regions(site, radius, patch)
    everything = np.concatenate([A, B, C])
    assert len(everything) == lat.n_features == int(np.prod(shape)) * k
    assert len(np.unique(everything)) == len(everything)  # disjoint
    np.testing.assert_array_equal(np.sort(everything), np.arange(lat.n_features))  # union
    # A is the patch: patch**ndim sites (the patch fits in every axis)
    assert len(A) == patch ** len(shape) * k
    for arr in (A, B, C):
        assert arr.dtype.kind == "i"
        assert np.all(np.diff(arr) > 0)  # sorted, flat C order


@FAST
@given(lattice_cases(), st.data())
def test_radius_beyond_lattice_is_an_error_and_max_radius_empties_C(case, data):
    shape, k, periodic, site, patch = case
    lat = Lattice(shape, n_channels=k, periodic=periodic)
    rmax = lat.max_radius(site, patch)
    A, B, C = lat.regions(site, rmax, patch)
    assert len(C) == 0
    assert len(A) + len(B) == lat.n_features
    extra = data.draw(st.integers(1, 5), label="extra")
    with pytest.raises(ValueError, match=rf"radius={rmax + extra}\b.*\[0, {rmax}\]"):
        lat.regions(site, rmax + extra, patch)


# --------------------------------------------------------------------------
# sizes


@FAST
@given(st.integers(1, 3), st.integers(0, 3), st.integers(0, 3), st.booleans(), st.data())
def test_ring_size_for_sites_far_from_borders(ndim, radius, half_patch, periodic, data):
    """Away from borders (or with no wrap overlap) |B(r)| = (a + 2r)^d - a^d."""
    patch = 2 * half_patch + 1
    side = patch + 2 * radius + data.draw(st.integers(0, 3), label="slack")
    shape = (side,) * ndim
    lat = Lattice(shape, periodic=periodic)
    lo = (patch - 1) // 2 + radius
    hi = side - 1 - (patch - 1) // 2 - radius
    site = tuple(data.draw(st.integers(lo, hi), label=f"coord{i}") for i in range(ndim))
    A, B, C = lat.site_regions(site, radius, patch)
    assert len(A) == patch**ndim
    assert len(B) == (patch + 2 * radius) ** ndim - patch**ndim
    assert len(C) == side**ndim - (patch + 2 * radius) ** ndim


@pytest.mark.parametrize("r", [1, 2, 3, 4])
def test_interior_site_of_open_2d_lattice(r):
    lat = Lattice((11, 11))
    A, B, C = lat.site_regions((5, 5), r)
    assert len(B) == (2 * r + 1) ** 2 - 1
    assert list(A) == [5 * 11 + 5]


@pytest.mark.parametrize("r", [1, 2, 3])
def test_corner_of_open_lattice_is_clipped(r):
    lat = Lattice((9, 9))
    A, B, C = lat.site_regions((0, 0), r)
    assert len(B) == (r + 1) ** 2 - 1
    rows, cols = np.unravel_index(B, (9, 9))
    assert rows.max() == r and cols.max() == r and rows.min() == 0 and cols.min() == 0
    assert lat.max_radius((0, 0)) == 8


def test_edge_of_open_lattice_is_clipped_on_one_side():
    lat = Lattice((9, 9))
    A, B, C = lat.site_regions((0, 4), 2)
    assert len(B) == 3 * 5 - 1
    assert lat.max_radius((0, 4)) == 8


def test_periodic_wrap_1d():
    lat = Lattice(10, periodic=True)
    A, B, C = lat.site_regions(0, 1)
    assert list(A) == [0] and list(B) == [1, 9]
    A, B, C = lat.site_regions(0, 2)
    assert list(B) == [1, 2, 8, 9]
    assert lat.max_radius(0) == 5 and lat.max_radius(7) == 5
    # open: no wrap
    A, B, C = Lattice(10).site_regions(0, 2)
    assert list(B) == [1, 2]
    assert Lattice(10).max_radius(0) == 9


def test_periodic_wrap_2d_corner_has_a_full_ring():
    lat = Lattice((6, 6), periodic=True)
    A, B, C = lat.site_regions((0, 0), 1)
    coords = set(zip(*np.unravel_index(B, (6, 6)), strict=True))
    expected = {((dx) % 6, (dy) % 6) for dx in (-1, 0, 1) for dy in (-1, 0, 1)} - {(0, 0)}
    assert coords == expected
    assert lat.max_radius((0, 0)) == 3


@FAST
@given(lattice_cases(), st.data())
def test_periodic_regions_are_translation_invariant(case, data):
    shape, k, _, site, patch = case
    lat = Lattice(shape, n_channels=1, periodic=True)
    rmax = lat.max_radius(site, patch)
    assert rmax == lat.max_radius(tuple(0 for _ in shape), patch)
    radius = data.draw(st.integers(0, rmax), label="radius")
    shift = tuple(data.draw(st.integers(0, s - 1), label="shift") for s in shape)
    moved = tuple((c + d) % s for c, d, s in zip(site, shift, shape, strict=True))
    base = lat.site_regions(site, radius, patch)
    other = lat.site_regions(moved, radius, patch)
    for a, b in zip(base, other, strict=True):
        coords = np.unravel_index(a, shape)
        shifted = np.ravel_multi_index(
            tuple((c + d) % s for c, d, s in zip(coords, shift, shape, strict=True)), shape
        )
        np.testing.assert_array_equal(np.sort(shifted), b)


# --------------------------------------------------------------------------
# symmetry


@FAST
@given(lattice_cases(), st.data())
def test_mirrored_site_gives_mirrored_regions(case, data):
    shape, k, periodic, site, patch = case
    patch = patch if patch % 2 == 1 else patch - 1  # odd patches are centred on the site
    lat = Lattice(shape, n_channels=k, periodic=periodic)
    axis = data.draw(st.integers(0, len(shape) - 1), label="axis")
    mirrored = list(site)
    mirrored[axis] = shape[axis] - 1 - site[axis]
    mirrored = tuple(mirrored)
    assert lat.max_radius(site, patch) == lat.max_radius(mirrored, patch)
    radius = data.draw(st.integers(0, lat.max_radius(site, patch)), label="radius")
    for a, b in zip(
        lat.site_regions(site, radius, patch), lat.site_regions(mirrored, radius, patch),
        strict=True,
    ):
        coords = list(np.unravel_index(a, shape))
        coords[axis] = shape[axis] - 1 - coords[axis]
        np.testing.assert_array_equal(np.sort(np.ravel_multi_index(tuple(coords), shape)), b)


def test_square_ring_is_symmetric_under_transpose():
    lat = Lattice((7, 7))
    A, B, C = lat.site_regions((2, 4), 2)
    At, Bt, Ct = lat.site_regions((4, 2), 2)
    r, c = np.unravel_index(B, (7, 7))
    np.testing.assert_array_equal(np.sort(np.ravel_multi_index((c, r), (7, 7))), Bt)


# --------------------------------------------------------------------------
# patches, channels, properties


def test_even_patch_starts_at_the_site_and_is_shifted_inside_open_borders():
    lat = Lattice((6, 6))
    assert lat.patch_bounds((2, 3), 2) == [(2, 3), (3, 4)]
    assert lat.patch_bounds((5, 5), 2) == [(4, 5), (4, 5)]  # shifted inside
    assert lat.patch_bounds((0, 0), 3) == [(0, 2), (0, 2)]
    per = Lattice((6, 6), periodic=True)
    assert per.patch_bounds((0, 0), 3) == [(-1, 1), (-1, 1)]  # wraps instead
    A, _, _ = per.site_regions((0, 0), 0, 3)
    coords = set(zip(*np.unravel_index(A, (6, 6)), strict=True))
    assert coords == {(x, y) for x in (5, 0, 1) for y in (5, 0, 1)}


def test_channels_are_last_in_the_flat_vector():
    lat = Lattice((3, 4), n_channels=3)
    assert lat.n_sites == 12 and lat.n_features == 36 and lat.ndim == 2
    A, B, C = lat.regions((1, 2), 1)
    site = 1 * 4 + 2
    np.testing.assert_array_equal(A, [3 * site, 3 * site + 1, 3 * site + 2])
    # an image with channels last, flattened C order, puts the site's values there
    img = np.arange(36).reshape(3, 4, 3)
    np.testing.assert_array_equal(img.ravel()[A], img[1, 2])
    np.testing.assert_array_equal(lat.features(np.array([0, 2])), [0, 1, 2, 6, 7, 8])


def test_default_site_is_the_centre():
    lat = Lattice((27, 27))
    assert lat.center == (13, 13)
    A, B, C = lat.site_regions(radius=1)
    assert list(A) == [13 * 27 + 13]
    assert lat.max_radius() == 13
    np.testing.assert_array_equal(lat.regions(radius=3).B, lat.regions((13, 13), 3).B)


def test_scalar_site_and_int_shape_in_1d():
    lat = Lattice(5)
    assert lat.shape == (5,)
    np.testing.assert_array_equal(lat.site_regions(2, 1).B, [1, 3])
    np.testing.assert_array_equal(lat.site_regions((2,), 1).B, [1, 3])
    np.testing.assert_array_equal(lat.site_regions(np.int64(2), 1).B, [1, 3])


def test_single_site_lattice():
    lat = Lattice((1, 1), n_channels=2)
    assert lat.max_radius((0, 0)) == 0
    A, B, C = lat.regions((0, 0), 0)
    np.testing.assert_array_equal(A, [0, 1])
    assert len(B) == 0 and len(C) == 0
    with pytest.raises(ValueError, match="radius=1"):
        lat.regions((0, 0), 1)


def test_check_X():
    lat = Lattice((3, 3), n_channels=2)
    lat.check_X(np.zeros((4, 18)))
    with pytest.raises(ValueError, match=r"X has shape \(4, 9\).*\(n_samples, 18\)"):
        lat.check_X(np.zeros((4, 9)))
    with pytest.raises(ValueError, match="X has shape"):
        lat.check_X(np.zeros(18))


# --------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize(
    "shape, exc, match",
    [
        ((), ValueError, "lattice_shape"),
        ((0, 3), ValueError, "lattice_shape"),
        ((-2,), ValueError, "lattice_shape"),
        ((2.5, 3), ValueError, "lattice_shape"),
        ("abc", TypeError, "lattice_shape"),
        (None, TypeError, "lattice_shape"),
    ],
)
def test_bad_shape(shape, exc, match):
    with pytest.raises(exc, match=match):
        Lattice(shape)


def test_integral_float_shape_is_accepted():
    assert Lattice((4.0, 3)).shape == (4, 3)


@pytest.mark.parametrize("n_channels", [0, -1, 1.5])
def test_bad_n_channels(n_channels):
    with pytest.raises(ValueError, match="n_channels"):
        Lattice((3, 3), n_channels=n_channels)


@pytest.mark.parametrize(
    "site, match",
    [
        ((3, 0), r"site=\(3, 0\) lies outside"),
        ((-1, 0), "site=.*outside"),
        ((0,), "site=.*1 coordinates.*has 2"),
        ((0, 0, 0), "site=.*3 coordinates"),
        ((1.5, 0), "site must be an integer"),
        (((0, 1), (1, 1)), "site="),
    ],
)
def test_bad_site(site, match):
    lat = Lattice((3, 3))
    with pytest.raises(ValueError, match=match):
        lat.regions(site, 1)


@pytest.mark.parametrize("patch", [0, -1, 4, 2.5])
def test_bad_patch(patch):
    lat = Lattice((3, 5))
    with pytest.raises(ValueError, match="patch"):
        lat.regions((1, 1), 1, patch)


@pytest.mark.parametrize("radius", [-1, 1.5])
def test_bad_radius(radius):
    lat = Lattice((5, 5))
    with pytest.raises(ValueError, match="radius"):
        lat.regions((2, 2), radius)


def test_radius_error_names_the_geometry():
    lat = Lattice((5, 5), periodic=True)
    with pytest.raises(ValueError, match=r"radius=3 is outside \[0, 2\].*periodic"):
        lat.regions((2, 2), 3)
