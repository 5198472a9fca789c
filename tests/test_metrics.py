import numpy as np
import pytest
from scipy import stats

from markovphase.datasets.digits import load_digits
from markovphase.metrics import (
    FeatureClassifier,
    covariance_error,
    frechet_distance,
    image_quality,
    kernel_mmd,
    label_statistics,
    lattice_energy,
    magnetisation,
    memorisation,
    physics_quality,
    two_point_function,
)


def test_frechet_distance_of_gaussians_is_exact():
    rng = np.random.default_rng(0)
    n = 200_000
    A = rng.standard_normal((n, 2)) * [1.0, 2.0]
    B = rng.standard_normal((n, 2)) * [3.0, 2.0] + [1.0, 0.0]
    # |mu|^2 + tr(S1 + S2 - 2 sqrt(S1 S2)) = 1 + (1 + 9 - 6) + (4 + 4 - 8) = 5
    assert frechet_distance(A, B) == pytest.approx(5.0, rel=0.02)
    assert abs(frechet_distance(A, A)) < 1e-8


def test_kernel_mmd_is_unbiased_and_detects_a_shift():
    rng = np.random.default_rng(1)
    same = [kernel_mmd(rng.standard_normal((300, 3)), rng.standard_normal((300, 3)))
            for _ in range(20)]
    assert abs(np.mean(same)) < 3 * np.std(same) / np.sqrt(20) + 1e-4
    shifted = kernel_mmd(rng.standard_normal((300, 3)), rng.standard_normal((300, 3)) + 0.5)
    assert shifted > 10 * np.std(same)
    assert kernel_mmd(rng.standard_normal((300, 3)), rng.standard_normal((300, 3)) + 0.5,
                      kernel="rbf") > 0.01
    with pytest.raises(ValueError, match="kernel='cosine'"):
        kernel_mmd(np.ones((3, 2)), np.ones((3, 2)), kernel="cosine")


def test_label_statistics_exact_values():
    P = np.array([[1.0, 0.0], [0.0, 1.0]])
    s = label_statistics(P)
    assert s["label_entropy"] == pytest.approx(0.0, abs=1e-9)
    assert s["confidence"] == pytest.approx(1.0)
    assert s["class_balance_entropy"] == pytest.approx(np.log(2))
    assert s["class_kl"] == pytest.approx(0.0, abs=1e-9)
    assert s["inception_score"] == pytest.approx(2.0, rel=1e-6)
    u = label_statistics(np.full((4, 2), 0.5))
    assert u["label_entropy"] == pytest.approx(np.log(2)) and u["inception_score"] == 1.0


def test_memorisation_flags_copies():
    rng = np.random.default_rng(2)
    train = rng.standard_normal((500, 10))
    copies = train[:50] + 1e-3 * rng.standard_normal((50, 10))
    fresh = rng.standard_normal((50, 10))
    assert memorisation(copies, train)["copy_fraction"] == 1.0
    assert memorisation(fresh, train)["copy_fraction"] < 0.1


@pytest.fixture(scope="module")
def digits():
    ds = load_digits()
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(ds.X))
    return ds.X[idx], ds.target[idx]


def test_image_quality_baseline_and_degraded_samples(digits):
    X, y = digits
    tr, ho = slice(0, 1000), slice(1000, 1400)
    clf = FeatureClassifier(model="logistic", random_state=0).fit(X[tr], y[tr])
    noise = np.random.default_rng(0).uniform(X.min(), X.max(), (400, X.shape[1]))
    copies = X[:400].copy()
    table = image_quality(X[tr], y[tr], X[ho], noise, classifier=clf).set_index("metric")
    assert {"label_entropy", "confidence", "class_kl", "frechet_distance", "kernel_mmd2",
            "frechet_distance_pca", "copy_fraction"} <= set(table.index)
    # the baseline is real vs held-out real: noise is far worse on every distance
    for m in ("frechet_distance", "kernel_mmd2", "frechet_distance_pca", "label_entropy"):
        assert table.loc[m, "generated"] > 3 * abs(table.loc[m, "baseline"]), m
    assert table.loc["confidence", "baseline"] > table.loc["confidence", "generated"]
    mem = image_quality(X[tr], y[tr], X[ho], copies, classifier=clf).set_index("metric")
    assert mem.loc["copy_fraction", "generated"] == 1.0  # training rows are exact copies
    assert mem.loc["copy_fraction", "baseline"] < 0.2
    mlp = image_quality(X[tr], y[tr], X[ho], X[1400:1800], random_state=0).set_index("metric")
    # two real samples: generated and baseline are the same kind of number
    assert mlp.loc["frechet_distance", "generated"] < 2 * mlp.loc["frechet_distance", "baseline"]


def test_energy_magnetisation_and_two_point_exact():
    up = np.ones((3, 16))
    checker = np.indices((4, 4)).sum(0) % 2 * 2 - 1.0
    X = np.vstack([up[:1], checker.ravel()[None]])
    np.testing.assert_allclose(lattice_energy(X, (4, 4)), [-2.0, 2.0])  # 2 bonds per site
    np.testing.assert_allclose(lattice_energy(X, (4, 4), periodic=False), [-24 / 16, 24 / 16])
    np.testing.assert_allclose(magnetisation(X), [1.0, 0.0])
    G = two_point_function(checker.ravel()[None].repeat(2, 0), (4, 4), connected=False)
    np.testing.assert_allclose(G, [1.0, -1.0, 1.0])


def test_physics_quality_wasserstein():
    rng = np.random.default_rng(3)
    ref = np.sign(rng.standard_normal((400, 36)))
    held = np.sign(rng.standard_normal((400, 36)))
    gen = np.ones((400, 36))
    t = physics_quality(ref, held, gen, (6, 6)).set_index("metric")
    e_ref = lattice_energy(ref, (6, 6))
    assert t.loc["energy_w1", "generated"] == pytest.approx(
        stats.wasserstein_distance(np.full(400, -2.0), e_ref))
    assert t.loc["energy_w1", "baseline"] < 0.1 < t.loc["energy_w1", "generated"]
    assert t.loc["two_point_max_abs", "baseline"] < 0.1


def test_covariance_error_null_is_calibrated():
    rng = np.random.default_rng(4)
    S = np.array([[2.0, 0.8], [0.8, 1.0]])
    L = np.linalg.cholesky(S)
    ps = [covariance_error(rng.standard_normal((300, 2)) @ L.T, S, n_null=50,
                           random_state=k)["p_value"] for k in range(20)]
    assert 0.2 < np.mean(ps) < 0.8  # uniform p-values under the null
    wrong = covariance_error(rng.standard_normal((300, 2)), S, statistic="kl", n_null=50)
    assert wrong["p_value"] < 0.05 and wrong["z"] > 5
    # the exact KL of N(0, I) against N(0, S) is what the statistic estimates
    M = np.linalg.solve(S, np.eye(2))
    exact = 0.5 * (np.trace(M) - 2 - np.log(np.linalg.det(M)))
    big = covariance_error(rng.standard_normal((100_000, 2)), S, statistic="kl", n_null=2)
    assert big["stat"] == pytest.approx(exact, rel=0.02)
    with pytest.raises(ValueError, match="covariance has shape"):
        covariance_error(np.ones((5, 3)), S)
