"""Forward paths (alpha, sigma, SNR, covariance) and the ForwardDiffusion transformer."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import integrate
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from markovphase.diffusion import (
    PATHS,
    CosineVPPath,
    DiffusionPath,
    ForwardDiffusion,
    LinearBetaVPPath,
    LinearPath,
    VEPath,
    check_time,
    get_path,
)

ALL_PATHS = ["linear", "cosine", "vp-linear", "ve"]
INTERIOR = np.array([0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99])


# --------------------------------------------------------------------------
# the paths at known points


@pytest.mark.parametrize("t", [0.0, 0.1, 0.25, 0.5, 0.8, 1.0])
def test_linear_path_values(t):
    p = get_path("linear")
    assert isinstance(p, LinearPath)
    assert p.alpha(t) == pytest.approx(1 - t, abs=1e-15)
    assert p.sigma(t) == pytest.approx(t, abs=1e-15)
    if t == 0:
        assert p.snr(t) == np.inf
    else:
        assert p.snr(t) == pytest.approx(((1 - t) / t) ** 2, rel=1e-12)


def test_linear_path_is_vectorised_and_ends_at_zero_snr():
    p = LinearPath()
    np.testing.assert_allclose(p.alpha(INTERIOR), 1 - INTERIOR)
    np.testing.assert_allclose(p.sigma(INTERIOR), INTERIOR)
    np.testing.assert_allclose(p.snr(INTERIOR), ((1 - INTERIOR) / INTERIOR) ** 2)
    assert p.snr(1.0) == 0.0
    np.testing.assert_allclose(p.log_snr(0.5), 0.0, atol=1e-15)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the ends of the path give +-inf, no warning
        assert p.log_snr(1.0) == -np.inf and p.log_snr(0.0) == np.inf


def test_cosine_vp_path():
    p = get_path("cosine")
    assert isinstance(p, CosineVPPath)
    assert get_path("vp-cosine") == p
    assert p.alpha(0.0) == 1.0
    assert p.sigma(0.0) == 0.0
    ts = np.linspace(0, 1, 201)
    a, s = p.alpha(ts), p.sigma(ts)
    np.testing.assert_allclose(a**2 + s**2, 1.0, atol=1e-12)
    assert np.all(np.diff(a) < 0)  # strictly decreasing
    assert np.all(np.diff(s) > 0)
    assert abs(p.alpha(1.0)) < 1e-12
    # Nichol & Dhariwal: alpha_bar(t) = f(t)/f(0), f(t) = cos^2(pi/2 (t+s)/(1+s)), s=0.008
    f = lambda t: np.cos(np.pi / 2 * (t + 0.008) / 1.008) ** 2  # noqa: E731
    assert p.alpha(0.5) ** 2 == pytest.approx(f(0.5) / f(0.0), rel=1e-12)
    assert p.snr(0.5) == pytest.approx(f(0.5) / (f(0) - f(0.5)), rel=1e-10)


def test_vp_linear_path():
    p = get_path("vp-linear")
    assert isinstance(p, LinearBetaVPPath)
    ts = np.linspace(0, 1, 101)
    np.testing.assert_allclose(p.alpha(ts) ** 2 + p.sigma(ts) ** 2, 1.0, atol=1e-12)
    beta = lambda s: 0.1 + s * (20.0 - 0.1)  # noqa: E731
    for t in (0.0, 0.05, 0.3, 0.7, 1.0):
        integral, _ = integrate.quad(beta, 0, t)
        assert p.alpha(t) == pytest.approx(np.exp(-0.5 * integral), rel=1e-10)
    assert p.alpha(1.0) < 0.01  # nearly pure noise at the end
    assert np.all(np.diff(p.alpha(ts)) < 0)


def test_ve_path():
    p = get_path("ve")
    assert isinstance(p, VEPath)
    ts = np.linspace(0, 1, 11)
    np.testing.assert_array_equal(p.alpha(ts), 1.0)
    assert p.alpha(0.3) == 1.0
    assert p.sigma(0.0) == pytest.approx(0.01, rel=1e-12)
    assert p.sigma(1.0) == pytest.approx(50.0, rel=1e-12)
    assert p.sigma(0.5) == pytest.approx(np.sqrt(0.01 * 50.0), rel=1e-12)  # geometric
    assert p.snr(0.0) == pytest.approx(1e4, rel=1e-12)  # finite at t = 0
    custom = VEPath(sigma_min=0.1, sigma_max=10.0)
    assert custom.sigma(0.5) == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("name", ALL_PATHS)
def test_snr_is_alpha_over_sigma_squared(name):
    p = get_path(name)
    np.testing.assert_allclose(p.snr(INTERIOR), p.alpha(INTERIOR) ** 2 / p.sigma(INTERIOR) ** 2)
    np.testing.assert_allclose(p.log_snr(INTERIOR), np.log(p.snr(INTERIOR)))
    assert np.all(np.diff(p.snr(INTERIOR)) < 0)  # the SNR falls along every path
    for t in INTERIOR:  # scalars in, floats out
        assert isinstance(p.snr(float(t)), float)


@pytest.mark.parametrize("name", ALL_PATHS)
def test_noise_is_alpha_x_plus_sigma_z(name):
    p = get_path(name)
    rng = np.random.default_rng(1)
    x0, z = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    np.testing.assert_allclose(p.noise(x0, 0.3, z), p.alpha(0.3) * x0 + p.sigma(0.3) * z)


# --------------------------------------------------------------------------
# covariance along the path


@pytest.mark.parametrize("name", ALL_PATHS)
@pytest.mark.parametrize("t", [0.2, 0.6])
def test_covariance_matches_noised_samples(name, t):
    """Empirical covariance of alpha x0 + sigma z agrees with alpha^2 S0 + sigma^2 I."""
    rng = np.random.default_rng(12345)
    d, n = 3, 200_000
    M = rng.normal(size=(d, d))
    cov0 = M @ M.T + 0.5 * np.eye(d)
    x0 = rng.multivariate_normal(np.zeros(d), cov0, size=n)
    z = rng.standard_normal((n, d))
    p = get_path(name)
    xt = p.noise(x0, t, z)
    exact = p.covariance(cov0, t)
    empirical = np.cov(xt, rowvar=False)
    # standard error of a Gaussian sample covariance: sqrt((S_ii S_jj + S_ij^2) / n)
    se = np.sqrt((np.outer(np.diag(exact), np.diag(exact)) + exact**2) / n)
    assert np.all(np.abs(empirical - exact) < 5 * se), (empirical - exact) / se
    np.testing.assert_allclose(exact, exact.T)
    a, s = p.alpha(t), p.sigma(t)
    np.testing.assert_allclose(exact, a**2 * cov0 + s**2 * np.eye(d))


def test_covariance_at_the_ends_of_the_linear_path():
    cov0 = np.array([[2.0, 0.5], [0.5, 1.0]])
    p = LinearPath()
    np.testing.assert_array_equal(p.covariance(cov0, 0.0), cov0)
    np.testing.assert_array_equal(p.covariance(cov0, 1.0), np.eye(2))
    np.testing.assert_allclose(p.covariance(cov0, 0.5), 0.25 * cov0 + 0.25 * np.eye(2))


def test_covariance_rejects_a_non_square_matrix():
    with pytest.raises(ValueError, match="cov0"):
        LinearPath().covariance(np.zeros((2, 3)), 0.5)


# --------------------------------------------------------------------------
# time validation


@pytest.mark.parametrize("name", ALL_PATHS)
@pytest.mark.parametrize("t", [-0.1, 1.1, np.nan, np.inf, -np.inf])
def test_time_outside_the_path_is_an_error_naming_t(name, t):
    p = get_path(name)
    for call in (
        lambda: p.alpha(t),
        lambda: p.sigma(t),
        lambda: p.snr(t),
        lambda: p.noise(np.zeros(2), t, np.zeros(2)),
        lambda: p.covariance(np.eye(2), t),
    ):
        with pytest.raises(ValueError, match=r"t=.*expected values in \[0, 1\]"):
            call()


def test_check_time():
    assert check_time(0.5) == 0.5 and isinstance(check_time(0.5), float)
    np.testing.assert_array_equal(check_time([0.0, 1.0]), [0.0, 1.0])
    with pytest.raises(ValueError, match="t=.*1.5"):
        check_time([0.2, 1.5])
    with pytest.raises(ValueError, match=r"times="):
        check_time(-1, name="times")


def test_unknown_path():
    with pytest.raises(ValueError, match=r"path='cosin' is unknown.*'cosine'"):
        get_path("cosin")
    with pytest.raises(ValueError, match="path="):
        get_path(3)
    custom = VEPath(sigma_max=5.0)
    assert get_path(custom) is custom
    assert set(ALL_PATHS) <= set(PATHS)


def test_base_path_is_abstract():
    with pytest.raises(NotImplementedError):
        DiffusionPath().alpha(0.5)


# --------------------------------------------------------------------------
# ForwardDiffusion


def _data(n=50, d=6, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d))


@pytest.mark.parametrize("path", ALL_PATHS)
def test_transform_is_alpha_x_plus_sigma_noise(path):
    X = _data()
    fd = ForwardDiffusion(t=0.3, path=path, random_state=0).fit(X)
    Z = fd.noise_for(len(X))
    p = get_path(path)
    np.testing.assert_allclose(fd.transform(X), p.alpha(0.3) * X + p.sigma(0.3) * Z)
    assert fd.n_features_in_ == 6
    assert fd.path_ == p


def test_accepts_a_path_instance():
    X = _data()
    path = VEPath(sigma_min=0.5, sigma_max=2.0)
    fd = ForwardDiffusion(t=0.5, path=path, random_state=0).fit(X)
    assert fd.path_ is path
    np.testing.assert_allclose(fd.transform(X), X + 1.0 * fd.noise_for(len(X)))
    assert clone(fd).get_params()["path"] == path


def test_schedule_is_the_deprecated_spelling_of_path():
    """``schedule=`` still names the forward path for one release, with a FutureWarning,
    and gives the same transform as ``path=``."""
    X = _data()
    new = ForwardDiffusion(t=0.4, path="cosine", random_state=0).fit(X)
    with pytest.warns(FutureWarning, match="'schedule' is deprecated.*path="):
        old = ForwardDiffusion(t=0.4, schedule="cosine", random_state=0).fit(X)
    assert old.path_ == new.path_ == CosineVPPath()
    np.testing.assert_array_equal(old.transform(X), new.transform(X))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new spelling does not warn
        ForwardDiffusion(t=0.4, path="cosine", random_state=0).fit(X)


def test_noise_is_standard_normal():
    fd = ForwardDiffusion(t=1.0, random_state=3).fit(np.zeros((1, 4)))
    Z = fd.noise_for(20_000)
    assert Z.shape == (20_000, 4)
    assert abs(Z.mean()) < 5 / np.sqrt(Z.size)
    assert abs(Z.var() - 1) < 5 * np.sqrt(2 / Z.size)
    # at t = 1 on the linear path the output is pure noise
    np.testing.assert_array_equal(fd.transform(np.ones((5, 4))), fd.noise_for(5))


def test_t0_is_identity_on_the_linear_path():
    X = _data()
    np.testing.assert_array_equal(ForwardDiffusion(t=0.0, random_state=0).fit_transform(X), X)


def test_fixed_noise_is_the_same_across_calls_and_times():
    X = _data()
    fd = ForwardDiffusion(t=0.2, random_state=7).fit(X)
    a = fd.transform(X)
    np.testing.assert_array_equal(a, fd.transform(X))
    Z = (a - 0.8 * X) / 0.2
    for t in (0.1, 0.5, 0.9):
        b = fd.set_params(t=t).fit(X).transform(X)
        np.testing.assert_allclose((b - (1 - t) * X) / t, Z, rtol=1e-10, atol=1e-12)
    # a clone with the same int seed reproduces it
    np.testing.assert_array_equal(clone(fd).set_params(t=0.2).fit_transform(X), a)
    # a row's noise does not depend on how many rows follow it
    np.testing.assert_array_equal(fd.noise_for(10), fd.noise_for(50)[:10])


def test_a_scan_over_t_moves_each_sample_along_one_straight_line():
    X = _data(n=20, d=3)
    points = np.stack(
        [ForwardDiffusion(t=t, random_state=11).fit_transform(X) for t in (0.1, 0.4, 0.7, 1.0)]
    )
    # x_t = X + t (Z - X): the difference quotients agree, so all points are collinear
    direction = (points[-1] - X) / 1.0
    for t, pt in zip((0.1, 0.4, 0.7), points[:-1], strict=True):
        np.testing.assert_allclose((pt - X) / t, direction, rtol=1e-10, atol=1e-12)


def test_different_seeds_give_different_noise():
    X = _data()
    a = ForwardDiffusion(t=0.5, random_state=0).fit_transform(X)
    b = ForwardDiffusion(t=0.5, random_state=1).fit_transform(X)
    assert not np.allclose(a, b)


def test_random_state_instance_and_none():
    X = _data()
    rs = np.random.RandomState(0)
    fd = ForwardDiffusion(t=0.5, random_state=rs).fit(X)
    np.testing.assert_array_equal(fd.transform(X), fd.transform(X))  # fixed within a fit
    fd2 = ForwardDiffusion(t=0.5, random_state=None).fit(X)
    np.testing.assert_array_equal(fd2.transform(X), fd2.transform(X))


def test_fresh_noise_when_not_fixed():
    X = _data(n=200)
    fd = ForwardDiffusion(t=0.5, random_state=0, fixed_noise=False).fit(X)
    a, b = fd.transform(X), fd.transform(X)
    assert not np.allclose(a, b)
    # both are alpha X + sigma Z with independent standard normal Z
    za, zb = (a - 0.5 * X) / 0.5, (b - 0.5 * X) / 0.5
    assert abs(np.corrcoef(za.ravel(), zb.ravel())[0, 1]) < 5 / np.sqrt(za.size)
    assert abs(za.std() - 1) < 0.1
    # the sequence restarts with each fit (same int seed)
    fd.fit(X)
    np.testing.assert_array_equal(fd.transform(X), a)
    assert fd.__sklearn_tags__().non_deterministic
    assert not ForwardDiffusion().__sklearn_tags__().non_deterministic


def test_bad_input():
    X = _data()
    with pytest.raises(ValueError, match="path='nope' is unknown"):
        ForwardDiffusion(path="nope").fit(X)
    Xnan = X.copy()
    Xnan[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ForwardDiffusion().fit(Xnan)
    fd = ForwardDiffusion(random_state=0).fit(X)
    with pytest.raises(ValueError, match="NaN"):
        fd.transform(Xnan)
    with pytest.raises(ValueError, match="6 features"):
        fd.transform(X[:, :4])
    for t in (-0.5, 1.5, np.nan):
        with pytest.raises(ValueError, match="t="):
            ForwardDiffusion(t=t).fit(X)
    with pytest.raises(TypeError, match="t="):
        ForwardDiffusion(t="0.5").fit(X)
    with pytest.raises(TypeError, match="t="):
        ForwardDiffusion(t=[0.1, 0.2]).fit(X)


def test_works_in_a_pipeline_and_keeps_feature_names():
    X = _data()
    pipe = make_pipeline(StandardScaler(), ForwardDiffusion(t=0.4, random_state=0))
    out = pipe.fit_transform(X)
    assert out.shape == X.shape
    fd = ForwardDiffusion(random_state=0).fit(X)
    np.testing.assert_array_equal(fd.get_feature_names_out(), [f"x{i}" for i in range(6)])


EXPECTED_FAILED_CHECKS = {
    "check_methods_sample_order_invariance": (
        "the noise is drawn per row position (row i always gets noise row i, so that a scan "
        "over t moves each sample along one line); reordering the rows changes which noise "
        "each sample receives"
    ),
    "check_methods_subset_invariance": (
        "the noise is drawn per row position: a subset or batch starts again at noise row 0, "
        "so its rows receive different noise than in the full array"
    ),
}


@parametrize_with_checks(
    [ForwardDiffusion(random_state=0)],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
