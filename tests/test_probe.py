import numpy as np
import pytest
from exact_gaussian import exact_cmi, linear_path_cov
from sklearn.utils.estimator_checks import parametrize_with_checks

from markovphase import Lattice, MarkovProbe
from markovphase.datasets.gaussian_field import gaussian_field_covariance, sample_gaussian_field
from markovphase.probes.markov_length import fit_markov_length

SHAPE, MASS = (10, 10), 0.1


@pytest.fixture(scope="module")
def field():
    X = sample_gaussian_field(SHAPE, MASS, 20000, random_state=1).reshape(20000, -1)
    return X, gaussian_field_covariance(SHAPE, MASS)


def test_probe_matches_exact_gaussian_cmi(field):
    X, cov0 = field
    t = 0.7
    probe = MarkovProbe(lattice_shape=SHAPE, periodic=True, radii=[1, 2, 3], t=t,
                        cmi="gaussian", random_state=0).fit(X)
    lat = Lattice(SHAPE, periodic=True)
    cov_t = linear_path_cov(cov0, t)
    regions = [lat.regions(None, r) for r in (1, 2, 3)]
    exact = [exact_cmi(cov_t, g.A, g.C, g.B) for g in regions]
    np.testing.assert_allclose(probe.cmi_, exact, atol=4 * probe.cmi_stderr_.max() + 1e-3)
    assert np.all(np.diff(exact) < 0) and exact[0] > 0.015  # noise creates decaying CMI
    assert probe.results_[0]["r"] == 1 and probe.results_[0]["value"] == probe.cmi_[0]
    # I(A;BC) >= I(A;C|B) >= 0 and the Markov length is finite and positive
    assert probe.mi_total_ > probe.cmi_[0]
    assert 0 < probe.markov_length_ < 5


def test_clean_field_is_markov(field):
    X, _ = field
    probe = MarkovProbe(lattice_shape=SHAPE, periodic=True, radii=[1, 2], t=0.0,
                        cmi="gaussian", random_state=0).fit(X)
    # nearest-neighbour precision: I(A;C|B(r)) = 0 for r >= 1
    assert np.all(np.abs(probe.cmi_) <= 3 * probe.cmi_stderr_ + 1e-3)


def test_several_sites_average(field):
    X, _ = field
    one = MarkovProbe(lattice_shape=SHAPE, periodic=True, radii=[1], t=0.3, sites=[(2, 3)],
                      random_state=0).fit(X)
    two = MarkovProbe(lattice_shape=SHAPE, periodic=True, radii=[1], t=0.3,
                      sites=[(2, 3), (6, 7)], random_state=0).fit(X)
    other = MarkovProbe(lattice_shape=SHAPE, periodic=True, radii=[1], t=0.3, sites=[(6, 7)],
                        random_state=0).fit(X)
    np.testing.assert_allclose(two.cmi_, (one.cmi_ + other.cmi_) / 2, rtol=1e-12)


def test_constant_a_gives_exact_zero():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 25))
    X[:, 12] = 0.0  # centre of a 5x5 lattice
    probe = MarkovProbe(lattice_shape=(5, 5), radii=[1], t=0.0, random_state=0).fit(X)
    assert probe.cmi_[0] == 0.0 and probe.cmi_stderr_[0] == 0.0


def test_constant_border_pixels_are_dropped():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 49))
    img = X.reshape(-1, 7, 7)
    img[:, 0, :] = 0.0  # an always-zero border row, as in MNIST
    probe = MarkovProbe(lattice_shape=(7, 7), radii=[1, 2], t=0.0, random_state=0).fit(X)
    assert np.all(np.isfinite(probe.cmi_))
    assert np.all(np.abs(probe.cmi_) < 4 * probe.cmi_stderr_ + 2e-3)  # independent pixels


@pytest.mark.parametrize(
    ("params", "match"),
    [({"radii": [1, 9]}, "radii"), ({"t": 1.5}, "t=1.5"), ({"radii": [2, 1]}, "increasing"),
     ({"path": "nope"}, "path='nope'"), ({"cmi": "gausian"}, "Did you mean 'gaussian'")],
)
def test_bad_parameters_are_named(params, match):
    X = np.random.default_rng(0).normal(size=(100, 49))
    with pytest.raises((ValueError, KeyError), match=match):
        MarkovProbe(lattice_shape=(7, 7), **params).fit(X)


def test_wrong_shape_and_nan():
    X = np.random.default_rng(0).normal(size=(100, 48))
    with pytest.raises(ValueError, match="lattice"):
        MarkovProbe(lattice_shape=(7, 7)).fit(X)
    X = np.random.default_rng(0).normal(size=(100, 49))
    X[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        MarkovProbe(lattice_shape=(7, 7)).fit(X)


def test_transform_pointwise_and_pandas_output(field):
    X, _ = field
    probe = MarkovProbe(lattice_shape=SHAPE, periodic=True, radii=[1, 2], t=0.4, cmi="gaussian",
                        random_state=0).set_output(transform="pandas")
    out = probe.fit_transform(X[:4000])
    assert list(out.columns) == ["r1_cmi", "r2_cmi"]
    assert out.shape == (4000, 2)
    # the per-sample terms average to the estimate (up to the bias correction)
    np.testing.assert_allclose(out.mean().to_numpy(), probe.cmi_, atol=3 * probe.cmi_stderr_.max())


def test_reproducible_under_random_state(field):
    X, _ = field
    a = MarkovProbe(lattice_shape=SHAPE, periodic=True, radii=[1], t=0.4, random_state=3).fit(X)
    b = MarkovProbe(lattice_shape=SHAPE, periodic=True, radii=[1], t=0.4, random_state=3).fit(X)
    assert a.cmi_[0] == b.cmi_[0]


def test_markov_length_fit_recovers_exponential():
    r = np.arange(1, 8)
    v = 0.3 * np.exp(-r / 1.7)
    fit = fit_markov_length(r, v, v * 0.01)
    assert fit["status"] == "fit"
    assert fit["xi"] == pytest.approx(1.7, rel=1e-9)
    assert fit["gamma"] == pytest.approx(0.3, rel=1e-9)
    assert fit["xi_low"] < 1.7 < fit["xi_high"]


def test_markov_length_noise_floor_rules():
    r = np.arange(1, 5)
    se = np.full(4, 0.01)
    # nothing resolved: xi is 0 within resolution
    assert fit_markov_length(r, [0.01, 0.0, -0.01, 0.005], se)["status"] == "below-noise-floor"
    # only r=1 resolved: an upper bound from the decay to the next noise floor
    up = fit_markov_length(r, [0.2, 0.01, 0.0, 0.0], se)
    assert up["status"] == "upper-bound"
    assert up["xi"] == pytest.approx(1 / np.log(0.2 / 0.02))
    # growing values: not decaying
    assert fit_markov_length(r, [0.1, 0.2, 0.3, 0.4], se)["xi"] == np.inf


@parametrize_with_checks(
    [MarkovProbe(radii=[0], random_state=0)],
    expected_failed_checks=lambda est: {
        "check_methods_subset_invariance":
            "pointwise CMI terms are estimated on the given sample set, so a subset "
            "gives different per-sample terms",
        "check_fit2d_1feature": "a 1-feature lattice has no B or C region; the error says so",
    },
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
