"""Property-based tests (hypothesis) over shapes, dtypes, radii, sites and times: MarkovProbe,
PhaseScan and the CMI estimators either give a correct result (exact invariances of the
estimators, results independent of what else is asked for) or a ValueError/TypeError.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from markovphase import KNNCMI, CopulaCMI, GaussianCMI, MarkovProbe, MixtureCMI, PhaseScan
from markovphase.lattice import Lattice

SETTINGS = settings(max_examples=20, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
DTYPES = (np.float64, np.float32, np.int64)


def smooth_field(shape, n, seed, periodic):
    """Correlated rows on a lattice: white noise averaged with its neighbours."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(n, *shape))
    out = w.copy()
    for axis in range(1, len(shape) + 1):
        for step in (1, -1):
            shifted = np.roll(w, step, axis=axis)
            if not periodic:  # no wrap-around on open lattices
                edge = [slice(None)] * w.ndim
                edge[axis] = 0 if step == 1 else -1
                shifted[tuple(edge)] = 0.0
            out += 0.2 * shifted  # spectrum 1 + 0.4 sum cos k >= 0.2: never collinear
    return out.reshape(n, -1)


@st.composite
def geometries(draw):
    """A lattice, a site on it and a strictly increasing set of radii that leave C non-empty."""
    ndim = draw(st.integers(1, 2))
    shape = tuple(draw(st.lists(st.integers(4, 12 if ndim == 1 else 6), min_size=ndim,
                                max_size=ndim)))
    periodic = draw(st.booleans())
    site = tuple(draw(st.integers(0, s - 1)) for s in shape)
    rmax = Lattice(shape, 1, periodic).max_radius(site)
    assume(rmax >= 2)
    radii = sorted(draw(st.sets(st.integers(1, rmax - 1), min_size=1, max_size=3)))
    return shape, periodic, site, radii, rmax


def cast(X, dtype):
    return np.round(X * 10).astype(dtype) if dtype is np.int64 else X.astype(dtype)


@SETTINGS
@given(geometries(), st.sampled_from(DTYPES), st.floats(0, 1), st.integers(0, 2**16))
def test_markov_probe_on_any_geometry_dtype_and_time(geom, dtype, t, seed):
    shape, periodic, site, radii, _ = geom
    X = cast(smooth_field(shape, 150, seed, periodic), dtype)
    kw = dict(lattice_shape=shape, periodic=periodic, sites=[site], radii=radii, t=t,
              random_state=seed)
    probe = MarkovProbe(**kw).fit(X)
    assert probe.cmi_.shape == (len(radii),) and np.isfinite(probe.cmi_).all()
    assert (probe.cmi_stderr_ >= 0).all()
    assert [row["r"] for row in probe.results_] == radii
    # the dtype only matters through the values: float64 of the same numbers agrees
    same = MarkovProbe(**kw).fit(X.astype(np.float64))
    np.testing.assert_allclose(probe.cmi_, same.cmi_, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(geometries(), st.integers(0, 3), st.integers(0, 2**16))
def test_radii_that_leave_c_empty_are_refused_with_a_short_message(geom, extra, seed):
    shape, periodic, site, radii, rmax = geom
    X = smooth_field(shape, 40, seed, periodic)
    bad = [*radii, rmax + extra]
    with pytest.raises(ValueError, match=f"use radii < {rmax}") as info:
        MarkovProbe(lattice_shape=shape, periodic=periodic, sites=[site], radii=bad,
                    t=0.5).fit(X)
    assert len(str(info.value)) < 200


@SETTINGS
@given(geometries(), st.integers(0, 2**16), st.floats(0.1, 10), st.floats(-5, 5))
def test_clean_gaussian_cmi_ignores_the_units_of_each_site(geom, seed, scale, shift):
    """At t = 0, I(A;C|B) of the log-det estimator is invariant under x -> a x + b per site."""
    shape, periodic, site, radii, _ = geom
    X = smooth_field(shape, 200, seed, periodic)
    a = scale * np.random.default_rng(seed + 1).uniform(0.5, 2.0, X.shape[1])
    kw = dict(lattice_shape=shape, periodic=periodic, sites=[site], radii=radii, t=0.0)
    ref = MarkovProbe(**kw).fit(X).cmi_
    np.testing.assert_allclose(MarkovProbe(**kw).fit(X * a + shift).cmi_, ref,
                               rtol=1e-6, atol=1e-9)


SCAN_TIMES, SCAN_RADII, SCAN_SHAPE = [0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0], [1, 2], (7, 7)


@functools.lru_cache(maxsize=4)
def full_scan(seed):
    X = smooth_field(SCAN_SHAPE, 200, seed, True)
    scan = PhaseScan(lattice_shape=SCAN_SHAPE, periodic=True, times=SCAN_TIMES,
                     radii=SCAN_RADII, random_state=seed).fit(X)
    return X, scan.results_.set_index(["t", "r"])["value"]


@SETTINGS
@given(st.lists(st.sampled_from(SCAN_TIMES), min_size=1, max_size=4, unique=True),
       st.sets(st.sampled_from(SCAN_RADII), min_size=1), st.integers(0, 3))
def test_a_scan_cell_does_not_depend_on_the_other_times_or_radii(times, radii, seed):
    X, full = full_scan(seed)
    part = PhaseScan(lattice_shape=SCAN_SHAPE, periodic=True, times=sorted(times),
                     radii=sorted(radii), random_state=seed).fit(X).results_
    assert len(part) == len(times) * len(radii)
    expect = full.loc[list(zip(part.t, part.r, strict=True))].to_numpy()
    if len(radii) == len(SCAN_RADII):  # the same cells exactly
        np.testing.assert_array_equal(part.value.to_numpy(), expect)
    else:  # other radii batched: the same numbers up to rounding
        np.testing.assert_allclose(part.value.to_numpy(), expect, rtol=1e-9, atol=1e-12)


@SETTINGS
@given(st.lists(st.one_of(st.floats(-2, 3), st.just(float("nan"))), min_size=1, max_size=4),
       st.integers(0, 2**16))
def test_scan_times_outside_the_path_are_refused(times, seed):
    assume(not all(0 <= t <= 1 for t in times) or np.any(np.diff(times) <= 0))
    X = smooth_field((5, 5), 50, seed, True)
    with pytest.raises(ValueError, match="times"):
        PhaseScan(lattice_shape=(5, 5), periodic=True, times=times, radii=[1]).fit(X)


# -- the CMI estimators ----------------------------------------------------------------------
@st.composite
def triples(draw):
    n = draw(st.integers(40, 160))
    dA, dB, dC = draw(st.integers(1, 2)), draw(st.integers(0, 3)), draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    d = dA + dB + dC
    Z = rng.normal(size=(n, d)) @ (np.eye(d) + 0.4 * rng.normal(size=(d, d)))
    return Z[:, :dA], Z[:, dA + dB:], Z[:, dA:dA + dB], seed


@SETTINGS
@given(triples(), st.sampled_from(DTYPES))
def test_gaussian_cmi_is_symmetric_affine_invariant_and_dtype_blind(tri, dtype):
    A, C, B, seed = tri
    est = GaussianCMI()
    ref = est.estimate(A, C, B)
    assert np.isfinite(ref)
    np.testing.assert_allclose(est.estimate(C, A, B), ref, rtol=1e-8, atol=1e-10)
    rng = np.random.default_rng(seed)
    mix = lambda M: M @ (np.eye(M.shape[1]) + 0.3 * rng.normal(size=(M.shape[1],) * 2))  # noqa: E731
    np.testing.assert_allclose(est.estimate(mix(A) + 2.0, mix(C) - 1.0, B[:, ::-1] * 3.0), ref,
                               rtol=1e-6, atol=1e-8)
    A2, C2, B2 = (cast(M, dtype) for M in (A, C, B))
    np.testing.assert_allclose(est.estimate(A2, C2, B2),
                               est.estimate(*(M.astype(float) for M in (A2, C2, B2))),
                               rtol=1e-12, atol=1e-12)


@SETTINGS
@given(triples())
def test_copula_cmi_only_sees_ranks(tri):
    A, C, B, _ = tri
    est = CopulaCMI()
    ref = est.estimate(A, C, B)
    monotone = est.estimate(np.exp(A), C**3 + C, np.arctan(B) - 4.0)
    np.testing.assert_allclose(monotone, ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(est.estimate(C, A, B), ref, rtol=1e-8, atol=1e-10)


@SETTINGS
@given(triples(), st.integers(1, 8))
def test_knn_cmi_is_symmetric_and_blind_to_the_order_of_b(tri, k):
    A, C, B, _ = tri
    est = KNNCMI(k=k, jitter=0.0)
    ref = est.estimate(A, C, B)
    assert np.isfinite(ref)
    assert est.estimate(C, A, B) == pytest.approx(ref, abs=1e-12)
    assert est.estimate(A, C, B[:, ::-1]) == pytest.approx(ref, abs=1e-12)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(triples())
def test_mixture_cmi_is_repeatable_and_finite(tri):
    A, C, B, _ = tri
    est = MixtureCMI(n_components=2, n_mc=500, random_state=0)
    first, again = est.evaluate(A, C, B), est.evaluate(A, C, B)
    assert np.isfinite(first.value) and first.stderr >= 0
    assert (first.value, first.stderr) == (again.value, again.stderr)


ESTIMATORS = [GaussianCMI(), CopulaCMI(), KNNCMI(k=3), MixtureCMI(n_components=2, n_mc=200)]


@SETTINGS
@given(triples(), st.sampled_from(ESTIMATORS), st.sampled_from(["nan", "rows", "ndim", "few",
                                                                 "huge"]))
def test_estimators_refuse_bad_input_with_a_value_error(tri, est, defect):
    A, C, B, _ = tri
    if defect == "nan":
        A = A.copy()
        A[0, 0] = np.nan
    elif defect == "rows":
        C = C[:-1]
    elif defect == "ndim":
        A = A[:, :, None]
    elif defect == "few":
        A, C, B = A[:1], C[:1], B[:1]
    else:
        C = C * 1e160
    with pytest.raises(ValueError):
        est.estimate(A, C, B)
