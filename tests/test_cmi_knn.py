"""Frenzel–Pompe k-NN CMI: reference tools, known answers, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import digamma
from sklearn.base import clone

from markovphase import plugins
from markovphase.cmi.gaussian import gaussian_cmi_path
from markovphase.cmi.knn import KNNCMI
from markovphase.lattice import Lattice


def chain(n, d, seed, rho=0.6, noise=0.7):
    """A noisy AR(1) chain of d coordinates."""
    rng = np.random.default_rng(seed)
    X = np.empty((n, d))
    X[:, 0] = rng.standard_normal(n)
    for j in range(1, d):
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    return X + noise * rng.standard_normal((n, d))


def split(X):
    d = X.shape[1]
    a = d // 2
    return X[:, [a]], X[:, [j for j in range(d) if abs(j - a) > 1]], X[:, [a - 1, a + 1]]


def naive_frenzel_pompe(A, C, B, k):
    """O(n²) reference written from the formula (strict radius, self excluded)."""
    X = np.hstack([A, B, C])
    n = len(X)

    def dist(Y):
        return np.max(np.abs(Y[:, None, :] - Y[None, :, :]), axis=2) if Y.shape[1] else None

    D = dist(X)
    np.fill_diagonal(D, np.inf)
    eps = np.sort(D, axis=1)[:, k - 1]

    def count(Y):
        if Y.shape[1] == 0:
            return np.full(n, n - 1)
        Dy = dist(Y)
        np.fill_diagonal(Dy, np.inf)
        return np.sum(Dy < eps[:, None], axis=1)

    nB, nAB, nBC = count(B), count(np.hstack([A, B])), count(np.hstack([B, C]))
    return digamma(k) - np.mean(digamma(nAB + 1) + digamma(nBC + 1) - digamma(nB + 1))


ALGOS = ["brute", "kd_tree", pytest.param("torch", id="torch-cpu")]


@pytest.mark.parametrize("algorithm", ALGOS)
@pytest.mark.parametrize("with_b", [True, False])
def test_equals_naive_formula(algorithm, with_b):
    A, C, B = split(chain(400, 7, seed=0))
    if not with_b:
        B = B[:, :0]
    est = KNNCMI(k=4, jitter=0, algorithm=algorithm, device="cpu")
    assert est.estimate(A, C, B) == pytest.approx(naive_frenzel_pompe(A, C, B, 4), abs=1e-12)


@pytest.mark.parametrize("d", [3, 10, 16])
def test_algorithms_agree_exactly(d):
    X = chain(3000, d, seed=d)
    A, C, B = (X[:, [1]], X[:, [2]], X[:, [0]]) if d == 3 else split(X)
    vals = {
        a: KNNCMI(k=5, jitter=0, algorithm=a, device="cpu", n_jobs=2).evaluate(A, C, B)
        for a in ("brute", "kd_tree", "torch")
    }
    for res in vals.values():
        assert res.value == vals["kd_tree"].value
        np.testing.assert_array_equal(res.pointwise, vals["kd_tree"].pointwise)


def test_algorithms_agree_on_ties_without_jitter():
    # discrete atoms: many exact duplicates, some k-th neighbour distances are 0
    X = np.random.default_rng(12).integers(0, 4, size=(2500, 4)).astype(float)
    A, C, B = X[:, :1], X[:, 1:2], X[:, 2:]
    vals = [
        KNNCMI(k=3, jitter=0, algorithm=a, device="cpu").evaluate(A, C, B).pointwise
        for a in ("brute", "kd_tree", "torch")
    ]
    np.testing.assert_array_equal(vals[0], vals[1])
    np.testing.assert_array_equal(vals[0], vals[2])
    assert KNNCMI(k=3, jitter=0).estimate(A[:600], C[:600], B[:600]) == pytest.approx(
        naive_frenzel_pompe(A[:600], C[:600], B[:600], 3), abs=1e-12
    )


def ksg1_reference(x, y, k):
    """KSG estimator 1 for two scalars, written from the formula with scipy's tree and sorted
    arrays: eps_i = k-th neighbour distance (max-norm, self excluded), n_x = other points
    strictly within eps_i in x; psi(k) + psi(n) - <psi(n_x + 1) + psi(n_y + 1)>."""
    from scipy.spatial import cKDTree

    xy = np.column_stack([x, y])
    eps = cKDTree(xy).query(xy, k=[k + 1], p=np.inf)[0][:, 0]

    def strictly_within(v):  # |v_j - v_i| < eps_i, j != i, in blocks of rows
        return np.concatenate([
            np.sum(np.abs(v[None, :] - v[i:i + 500, None]) < eps[i:i + 500, None], axis=1) - 1
            for i in range(0, len(v), 500)])

    n = len(x)
    return (digamma(k) + digamma(n)
            - np.mean(digamma(strictly_within(x) + 1) + digamma(strictly_within(y) + 1)))


def test_mutual_information_is_ksg1_and_matches_sklearn():
    from sklearn.feature_selection import mutual_info_regression

    rng = np.random.default_rng(1)
    rho, n = 0.8, 5000
    x = rng.standard_normal(n)
    y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    truth = -0.5 * np.log(1 - rho**2)
    x, y = x / x.std(), y / y.std()  # sklearn scales each variable to unit variance
    ours = KNNCMI(k=3, jitter=0).estimate(x, y)
    # KSG estimator 1 with scikit-learn's conventions (strict radius, self not counted)
    assert ours == pytest.approx(ksg1_reference(x, y, 3), abs=1e-12)
    # the public function adds its own 1e-10 noise: equal to far below the error
    assert ours == pytest.approx(
        mutual_info_regression(x[:, None], y, n_neighbors=3, random_state=0)[0], abs=1e-3
    )
    assert ours == pytest.approx(truth, abs=0.03)


def tigramite_cmiknn(A, C, B, k, jitter_off):
    cmiknn = pytest.importorskip(
        "tigramite.independence_tests.cmiknn", reason="tigramite is not installed"
    )
    test = cmiknn.CMIknn(knn=k, transform=None, significance="fixed_thres", workers=1)
    if jitter_off:

        class NoJitter:  # tigramite draws its jitter from random_state.random(shape)
            def random(self, shape):
                return np.zeros(shape)

        test.random_state = NoJitter()
    array = np.hstack([A, C, B]).T.copy()
    xyz = np.array([0] * A.shape[1] + [1] * C.shape[1] + [2] * B.shape[1])
    return test.get_dependence_measure(array, xyz)


@pytest.mark.parametrize("d", [3, 10])
def test_equals_tigramite(d):
    X = chain(2000, d, seed=10 + d)
    A, C, B = (X[:, [1]], X[:, [2]], X[:, [0]]) if d == 3 else split(X)
    # jitter off on both: identical conventions, identical digits
    ref = tigramite_cmiknn(A, C, B, 5, jitter_off=True)
    assert KNNCMI(k=5, jitter=0).estimate(A, C, B) == pytest.approx(ref, abs=1e-12)
    # with tigramite's own radius factor the counts are the same by construction
    assert KNNCMI(k=5, jitter=0, radius_factor=0.999999999).estimate(A, C, B) == pytest.approx(
        ref, abs=1e-12
    )
    # both with their tie-breaking jitter: within the size of the jitter's effect
    ref_j = tigramite_cmiknn(A, C, B, 5, jitter_off=False)
    assert KNNCMI(k=5, random_state=0).estimate(A, C, B) == pytest.approx(ref_j, abs=1e-3)


def test_equals_npeet():
    npeet = pytest.importorskip("npeet_plus", reason="npeet-plus is not installed")
    A, C, B = split(chain(2000, 8, seed=3))
    np.random.seed(0)  # noqa: NPY002 -- NPEET jitters with the global numpy generator
    ref = npeet.cmi(A, C, B, k=5, base=np.e)
    assert KNNCMI(k=5, jitter=0).estimate(A, C, B) == pytest.approx(ref, abs=1e-9)
    ref_mi = npeet.mi(A, C, k=5, base=np.e)
    assert KNNCMI(k=5, jitter=0).estimate(A, C) == pytest.approx(ref_mi, abs=1e-9)


def field_1d(t, n, seed, mass=0.5):
    from markovphase.datasets.gaussian_field import (
        gaussian_field_covariance,
        sample_gaussian_field,
    )

    lat = Lattice((10,), periodic=True)
    regions = [lat.regions((5,), r) for r in range(1, 5)]
    cov0 = gaussian_field_covariance((10,), mass)
    exact = gaussian_cmi_path(cov0, regions, [t])[0]
    rng = np.random.default_rng([seed, 1])  # noise independent of the field's stream
    phi = sample_gaussian_field((10,), mass, n, random_state=seed).reshape(n, -1)
    return (1 - t) * phi + t * rng.standard_normal(phi.shape), regions, exact


def test_noised_field_follows_exact_curve():
    X, regions, exact = field_1d(0.5, 20_000, seed=0)
    assert exact[0] > 0.005  # a visible signal at r = 1
    res = KNNCMI(k=5, random_state=0, n_jobs=2).evaluate_regions(X, regions)
    values = np.array([r.value for r in res])
    assert np.all(np.abs(values - exact) < 0.01), (values, exact)


@pytest.mark.slow
def test_clean_field_is_near_zero():
    X, regions, exact = field_1d(0.0, 20_000, seed=1)
    np.testing.assert_allclose(exact, 0.0, atol=1e-12)
    for res in KNNCMI(k=5, random_state=0, n_jobs=2).evaluate_regions(X, regions):
        assert abs(res.value) < 0.01
        assert abs(res.value) < 4 * res.stderr  # the stderr ignores dependence: loose


def test_evaluate_regions_matches_evaluate():
    X = chain(1500, 9, seed=4)
    lat = Lattice((9,))
    regions = [lat.regions((4,), r) for r in (1, 2, 3)]
    est = KNNCMI(k=5, jitter=0)
    batch = est.evaluate_regions(X, regions, lattice=lat)
    for res, r in zip(batch, regions, strict=True):
        one = est.evaluate(X[:, r.A], X[:, r.C], X[:, r.B])
        assert res.value == pytest.approx(one.value, abs=1e-12)
        np.testing.assert_allclose(res.pointwise.mean(), res.value, atol=1e-12)
        assert res.stderr == pytest.approx(np.std(res.pointwise, ddof=1) / np.sqrt(1500))


def test_negative_estimates_are_not_clipped():
    rng = np.random.default_rng(5)
    values = []
    for _ in range(6):
        X = rng.standard_normal((800, 4))  # independent: the truth is 0
        res = KNNCMI(k=5, random_state=0).evaluate(X[:, :1], X[:, 1:2], X[:, 2:])
        values.append(res.value)
        assert abs(res.value) < 4 * res.stderr
    assert min(values) < 0


def test_jitter_is_reproducible_and_breaks_ties():
    rng = np.random.default_rng(6)
    X = rng.integers(0, 3, size=(500, 3)).astype(float)  # discrete atoms: many ties
    a = KNNCMI(k=3, random_state=1).estimate(X[:, :1], X[:, 1:2], X[:, 2:])
    b = KNNCMI(k=3, random_state=1).estimate(X[:, :1], X[:, 1:2], X[:, 2:])
    assert a == b and np.isfinite(a)


def test_registered_and_clonable():
    assert plugins.get("cmi", "knn") is KNNCMI
    est = KNNCMI(k=7, jitter=0.0, n_jobs=2)
    params = clone(est).get_params()
    assert params["k"] == 7 and params["jitter"] == 0.0 and params["n_jobs"] == 2


def test_bad_input():
    X = chain(50, 4, seed=7)
    A, C, B = X[:, :1], X[:, 1:2], X[:, 2:]
    with pytest.raises(ValueError, match="k=50 must be smaller"):
        KNNCMI(k=50).evaluate(A, C, B)
    with pytest.raises(ValueError, match="positive integer"):
        KNNCMI(k=0).evaluate(A, C, B)
    with pytest.raises(ValueError, match="A is empty"):
        KNNCMI().evaluate(X[:, :0], C, B)
    with pytest.raises(ValueError, match="C is empty"):
        KNNCMI().evaluate(A, X[:, :0], B)
    with pytest.raises(ValueError, match="same number of samples"):
        KNNCMI().evaluate(A, C[:40], B)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        KNNCMI().evaluate(bad[:, :1], C, B)
    const = X.copy()
    const[:, 3] = 1.0
    with pytest.raises(ValueError, match="constant"):
        KNNCMI().evaluate(A, C, const[:, 2:])
    with pytest.raises(ValueError, match="constant"):
        KNNCMI().evaluate_regions(const, [(np.array([0]), np.array([2, 3]), np.array([1]))])
    # drop_constant: a constant coordinate never changes a max-norm distance
    dropping = KNNCMI(jitter=0, drop_constant=True)
    assert dropping.estimate(A, C, const[:, 2:]) == KNNCMI(jitter=0).estimate(A, C, X[:, 2:3])
    assert dropping.evaluate(const[:, 3:], C, B).value == 0.0
    with pytest.raises(ValueError, match="algorithm"):
        KNNCMI(algorithm="ball").evaluate(A, C, B)
    with pytest.raises(ValueError, match="jitter"):
        KNNCMI(jitter=-1).evaluate(A, C, B)
    with pytest.raises(ValueError, match="device"):
        KNNCMI(device="tpu").evaluate(A, C, B)


def test_without_numba_auto_falls_back_to_trees(monkeypatch):
    from markovphase.cmi import knn_kernels

    A, C, B = split(chain(500, 6, seed=8))
    expected = KNNCMI(k=5, jitter=0, algorithm="kd_tree").estimate(A, C, B)
    monkeypatch.setattr(knn_kernels, "HAVE_NUMBA", False)
    assert KNNCMI(k=5, jitter=0, device="cpu").estimate(A, C, B) == expected
    with pytest.raises(ImportError, match="numba"):
        KNNCMI(k=5, algorithm="brute").estimate(A, C, B)
