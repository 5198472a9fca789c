"""Gaussian and Gaussian-copula CMI: exact covariance path, sample estimates, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.linalg import LinAlgError
from sklearn.base import clone

from markovphase import plugins
from markovphase.cmi.copula import CopulaCMI, normal_scores
from markovphase.cmi.gaussian import (
    GaussianCMI,
    gaussian_cmi_from_covariance,
    gaussian_cmi_path,
    gaussian_cmi_table,
    logdet_bias,
)
from markovphase.lattice import Lattice


def closed_form(cov, A, C, B):
    """½[ld S_AB + ld S_BC − ld S_B − ld S_ABC], written with numpy's slogdet."""

    def ld(ix):
        ix = np.asarray(ix, dtype=int)
        return 0.0 if ix.size == 0 else np.linalg.slogdet(cov[np.ix_(ix, ix)])[1]

    A, B, C = (np.asarray(v, dtype=int) for v in (A, B, C))
    return 0.5 * (ld(np.r_[A, B]) + ld(np.r_[B, C]) - ld(B) - ld(np.r_[A, B, C]))


def random_cov(p, rng, strength=0.3):
    M = rng.standard_normal((p, p)) * strength / np.sqrt(p)
    return M @ M.T + np.eye(p)


def gff_precision(shape, mass):
    """Periodic nearest-neighbour precision m² + Laplacian, written here independently."""
    lat = np.arange(int(np.prod(shape))).reshape(shape)
    Q = np.eye(lat.size) * (mass**2 + 2 * len(shape))
    for axis in range(len(shape)):
        for step in (1, -1):
            nb = np.roll(lat, step, axis=axis).ravel()
            np.add.at(Q, (lat.ravel(), nb), -1.0)
    return Q


# -- exact path ----------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_equals_closed_form(seed):
    rng = np.random.default_rng(seed)
    p = 14
    cov = random_cov(p, rng, strength=2.0)
    perm = rng.permutation(p)
    A, B, C = perm[:2], perm[2:7], perm[7:]
    assert gaussian_cmi_from_covariance(cov, A, C, B) == pytest.approx(
        closed_form(cov, A, C, B), abs=1e-10
    )
    # B empty: plain mutual information
    assert gaussian_cmi_from_covariance(cov, A, C) == pytest.approx(
        closed_form(cov, A, C, []), abs=1e-10
    )


def test_table_of_lattice_rings_equals_closed_form():
    lat = Lattice((9, 9))
    rng = np.random.default_rng(3)
    cov = random_cov(lat.n_features, rng, strength=3.0)
    regions = [lat.regions((4, 4), r) for r in range(1, lat.max_radius((4, 4)))]
    regions += [lat.regions((1, 2), r) for r in (1, 2, 3)]
    regions += [(np.array([0, 1]), np.array([5, 9, 30]), np.array([40, 41, 70]))]  # not nested
    table = gaussian_cmi_table(cov, regions)
    expected = [closed_form(cov, r[0], r[2], r[1]) for r in regions]
    np.testing.assert_allclose(table, expected, rtol=0, atol=1e-10)


def test_path_is_exact_on_noised_covariance():
    lat = Lattice((8, 8), periodic=True)
    cov0 = np.linalg.inv(gff_precision((8, 8), 0.7))
    regions = [lat.regions((3, 3), r) for r in (1, 2, 3)]
    times = [0.0, 0.3, 0.7, 1.0]
    table = gaussian_cmi_path(cov0, regions, times)
    for t, row in zip(times, table, strict=True):
        cov_t = (1 - t) ** 2 * cov0 + t**2 * np.eye(len(cov0))
        np.testing.assert_allclose(
            row, [closed_form(cov_t, r.A, r.C, r.B) for r in regions], atol=1e-10
        )
    # nearest-neighbour precision: clean CMI exactly 0 for r >= 1; pure noise: 0
    np.testing.assert_allclose(table[0], 0.0, atol=1e-10)
    np.testing.assert_allclose(table[-1], 0.0, atol=1e-12)
    assert np.all(table[1] > 0)
    assert np.all(np.diff(table[1]) < 0)  # decays with r


def test_zero_variance_coordinates_are_dropped():
    rng = np.random.default_rng(4)
    cov = random_cov(8, rng, strength=2.0)
    pad = np.zeros((10, 10))
    pad[:8, :8] = cov  # coordinates 8 and 9 have zero variance (MNIST border pixels)
    A, B, C = [0], [1, 2, 8], [3, 4, 5, 9]
    assert gaussian_cmi_from_covariance(pad, A, C, B) == pytest.approx(
        closed_form(cov, [0], [3, 4, 5], [1, 2]), abs=1e-12
    )
    assert gaussian_cmi_from_covariance(pad, [8], C, [1, 2]) == 0.0  # A carries nothing
    assert gaussian_cmi_from_covariance(pad, A, [9], B) == 0.0
    times = np.linspace(0, 1, 5)
    assert np.all(np.isfinite(gaussian_cmi_path(pad, [(A, B, C)], times)))


def test_singular_covariance_error_suggests_ridge():
    cov = np.ones((3, 3)) + np.diag([0, 0, 1.0])  # coordinates 0 and 1 identical
    with pytest.raises(LinAlgError, match="ridge"):
        gaussian_cmi_from_covariance(cov, [2], [1], [0])
    assert np.isfinite(gaussian_cmi_from_covariance(cov, [2], [1], [0], ridge=1e-6))


def test_bad_regions_and_covariance():
    cov = np.eye(4)
    with pytest.raises(ValueError, match="non-empty"):
        gaussian_cmi_from_covariance(cov, [], [1], [2])
    with pytest.raises(ValueError, match="disjoint"):
        gaussian_cmi_from_covariance(cov, [0], [0, 1], [2])
    with pytest.raises(ValueError, match="outside"):
        gaussian_cmi_from_covariance(cov, [0], [7], [2])
    with pytest.raises(ValueError, match="square"):
        gaussian_cmi_from_covariance(np.ones((3, 4)), [0], [1], [2])
    with pytest.raises(ValueError, match="NaN"):
        gaussian_cmi_from_covariance(np.full((3, 3), np.nan), [0], [1], [2])


def test_logdet_bias_matches_monte_carlo():
    # E[log det S] - log det Σ for n = 12 samples in p = 3 dimensions
    rng = np.random.default_rng(5)
    n, p = 12, 3
    X = rng.standard_normal((4000, n, p))
    Xc = X - X.mean(axis=1, keepdims=True)
    S = np.einsum("bni,bnj->bij", Xc, Xc) / (n - 1)
    mc = np.linalg.slogdet(S)[1]
    assert logdet_bias(p, n - 1) == pytest.approx(mc.mean(), abs=4 * mc.std() / np.sqrt(len(mc)))


# -- sample estimates ----------------------------------------------------------
def three_block(rng, dA, dB, dC, n):
    p = dA + dB + dC
    cov = random_cov(p, rng, strength=1.5)
    X = rng.multivariate_normal(np.zeros(p), cov, size=n, method="cholesky")
    A = np.arange(dA)
    B = np.arange(dA, dA + dB)
    C = np.arange(dA + dB, p)
    return cov, X, A, B, C


@pytest.mark.parametrize(("dA", "dB", "dC", "seed"), [(1, 0, 1, 0), (2, 3, 4, 1), (9, 16, 9, 2)])
def test_samples_within_001_nats(dA, dB, dC, seed):
    rng = np.random.default_rng(seed)
    cov, X, A, B, C = three_block(rng, dA, dB, dC, 50_000)
    truth = closed_form(cov, A, C, B)
    res = GaussianCMI().evaluate(X[:, A], X[:, C], X[:, B] if dB else None)
    assert abs(res.value - truth) < 0.01
    assert abs(res.value - truth) < 4 * res.stderr
    assert res.n_samples == 50_000
    np.testing.assert_allclose(res.pointwise.mean(), res.value, atol=1e-10)
    # copula: the same after x -> x**3 on every coordinate
    Y = X**3
    cres = CopulaCMI().evaluate(Y[:, A], Y[:, C], Y[:, B] if dB else None)
    assert abs(cres.value - truth) < 0.01
    np.testing.assert_allclose(cres.pointwise.mean(), cres.value, atol=1e-10)


def test_bias_correction_removes_small_sample_bias():
    # 300 repetitions of n = 60 in 1/6/1 dims, truth from the covariance
    rng = np.random.default_rng(6)
    cov = random_cov(8, rng, strength=1.0)
    truth = closed_form(cov, [0], [7], list(range(1, 7)))
    L = np.linalg.cholesky(cov)
    raw, corr = [], []
    for _ in range(300):
        X = rng.standard_normal((60, 8)) @ L.T
        raw.append(GaussianCMI(bias_correction=False).estimate(X[:, :1], X[:, 7:], X[:, 1:7]))
        corr.append(GaussianCMI().estimate(X[:, :1], X[:, 7:], X[:, 1:7]))
    se = np.std(corr) / np.sqrt(len(corr))
    assert abs(np.mean(corr) - truth) < 3 * se
    assert np.mean(raw) - truth > 5 * se  # the uncorrected estimate is biased upwards


def test_evaluate_regions_shares_covariance_and_matches_evaluate():
    rng = np.random.default_rng(7)
    lat = Lattice((6, 6), periodic=True)
    cov0 = np.linalg.inv(gff_precision((6, 6), 0.8))
    X = rng.multivariate_normal(np.zeros(36), 0.25 * cov0 + 0.25 * np.eye(36), size=3000)
    regions = [lat.regions((2, 3), r) for r in (1, 2)]
    for est in (GaussianCMI(), CopulaCMI()):
        batch = est.evaluate_regions(X, regions, lattice=lat)
        for res, r in zip(batch, regions, strict=True):
            one = est.evaluate(X[:, r.A], X[:, r.C], X[:, r.B])
            assert res.value == pytest.approx(one.value, abs=1e-10)
            assert res.stderr == pytest.approx(one.stderr, rel=1e-8)
            np.testing.assert_allclose(res.pointwise, one.pointwise, atol=1e-9)


def noised_field(shape, mass, t, n, seed):
    from markovphase.datasets.gaussian_field import sample_gaussian_field

    rng = np.random.default_rng([seed, 1])  # noise independent of the field's stream
    phi = sample_gaussian_field(shape, mass, n, random_state=seed).reshape(n, -1)
    return (1 - t) * phi + t * rng.standard_normal(phi.shape)


@pytest.mark.parametrize("est", [GaussianCMI(), CopulaCMI()], ids=["gaussian", "copula"])
def test_noised_free_field_follows_exact_curve(est):
    from markovphase.datasets.gaussian_field import gaussian_field_covariance

    # light mass and t = 0.7: CMI(r) = 0.0137, 0.0048, 0.0018, 0.0006 nats decays slowly
    shape, mass, t = (16, 16), 0.1, 0.7
    lat = Lattice(shape, periodic=True)
    regions = [lat.regions((8, 8), r) for r in range(1, 5)]
    cov0 = gaussian_field_covariance(shape, mass)
    exact = gaussian_cmi_path(cov0, regions, [t])[0]
    assert exact[0] > 0.01 and np.all(np.diff(exact) < 0)
    X = noised_field(shape, mass, t, 30_000, seed=11)
    res = est.evaluate_regions(X, regions)
    values = np.array([r.value for r in res])
    tol = np.maximum(0.05 * exact, 0.002)
    assert np.all(np.abs(values - exact) <= tol), (values, exact)
    assert np.all(np.abs(values - exact) <= 4 * np.array([r.stderr for r in res]))


@pytest.mark.parametrize("est", [GaussianCMI(), CopulaCMI()], ids=["gaussian", "copula"])
def test_clean_free_field_is_zero_within_two_stderr(est):
    shape = (16, 16)
    lat = Lattice(shape, periodic=True)
    regions = [lat.regions((8, 8), r) for r in range(1, 5)]
    X = noised_field(shape, 0.5, 0.0, 20_000, seed=12)
    for res in est.evaluate_regions(X, regions):
        assert abs(res.value) <= 2 * res.stderr, res


# -- parameters and bad input ----------------------------------------------------
def test_registered_and_clonable():
    assert plugins.get("cmi", "gaussian") is GaussianCMI
    assert plugins.get("cmi", "copula") is CopulaCMI
    est = GaussianCMI(ridge=1e-3, bias_correction=False)
    assert clone(est).get_params() == {
        "bias_correction": False,
        "drop_constant": False,
        "ridge": 1e-3,
    }
    assert set(CopulaCMI().get_params()) == {"bias_correction", "drop_constant", "ridge"}


@pytest.mark.parametrize("est", [GaussianCMI(), CopulaCMI()], ids=["gaussian", "copula"])
def test_bad_input(est):
    rng = np.random.default_rng(8)
    X = rng.standard_normal((100, 4))
    with pytest.raises(ValueError, match="same number of samples"):
        est.evaluate(X[:, :1], X[:50, 1:2], X[:, 2:])
    with pytest.raises(ValueError, match="A is empty"):
        est.evaluate(X[:, :0], X[:, 1:2], X[:, 2:])
    with pytest.raises(ValueError, match="C is empty"):
        est.evaluate(X[:, :1], X[:, :0], X[:, 2:])
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.evaluate(bad[:, :1], bad[:, 1:2], bad[:, 2:])
    const = X.copy()
    const[:, 3] = 2.0
    with pytest.raises(ValueError, match="constant"):
        est.evaluate(const[:, :1], const[:, 1:2], const[:, 2:])
    with pytest.raises(ValueError, match="constant"):
        est.evaluate_regions(const, [(np.array([0]), np.array([2, 3]), np.array([1]))])
    with pytest.raises(ValueError, match="more samples than dimensions"):
        est.evaluate(X[:4, :1], X[:4, 1:2], X[:4, 2:])
    # drop_constant: the constant column is dropped, result equals the estimate without it
    dropping = clone(est).set_params(drop_constant=True)
    assert dropping.estimate(const[:, :1], const[:, 1:2], const[:, 2:]) == pytest.approx(
        est.estimate(X[:, :1], X[:, 1:2], X[:, 2:3]), abs=1e-12
    )
    res = dropping.evaluate(const[:, 3:], const[:, 1:2], const[:, 2:3])  # A constant
    assert res.value == 0.0 and res.stderr == 0.0


def test_normal_scores_are_rank_invariant():
    rng = np.random.default_rng(9)
    X = rng.standard_normal((500, 3))
    np.testing.assert_array_equal(normal_scores(X), normal_scores(np.exp(X) * 3 - 1))
