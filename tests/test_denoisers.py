"""Local / global denoisers: exact receptive radius, closed-form optimal local linear
denoiser, trained networks against it on the Gaussian free field, persistence and
scikit-learn conformance."""

import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from exact_gaussian import exact_cmi, linear_path_cov
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from markovphase.datasets.gaussian_field import gaussian_field_covariance, sample_gaussian_field
from markovphase.denoisers import (
    GlobalDenoiser,
    LinearLocalDenoiser,
    LocalDenoiser,
    PatchPosteriorDenoiser,
    row_noise,
)
from markovphase.denoisers.networks import build_network
from markovphase.lattice import Lattice

torch.set_num_threads(1)

SHAPE = (8, 8)
MASS = 0.5


@pytest.fixture(scope="module")
def gff():
    X = sample_gaussian_field(SHAPE, MASS, 5000, random_state=0).reshape(5000, -1)
    return X[:3000], X[3000:], gaussian_field_covariance(SHAPE, MASS)


def _linear(radius, cov, t, **kw):
    d = len(cov)
    return LinearLocalDenoiser(SHAPE, radius=radius, periodic=True, covariance=cov,
                               mean=np.zeros(d), eval_times=(t,), **kw).fit(np.zeros((2, d)))


# -- receptive field -------------------------------------------------------------------
@pytest.mark.parametrize("position_channels", [0, 2])
@pytest.mark.parametrize("periodic", [False, True])
@pytest.mark.parametrize("radius", range(7))
def test_receptive_field_is_exactly_the_linf_ball(radius, periodic, position_channels):
    torch.manual_seed(radius)
    shape = (15, 15)
    net = build_network(shape, 1, radius, width=6, depth=1, periodic=periodic,
                        position_channels=position_channels).double()
    if position_channels:  # non-trivial per-site constants (the bias starts at 0)
        with torch.no_grad():
            net.out_bias.normal_()
    x = torch.randn(1, 1, *shape, dtype=torch.float64, requires_grad=True)
    y = net(x, torch.tensor([0.4], dtype=torch.float64))
    lat = Lattice(shape, periodic=periodic)
    for p in [(7, 7), (0, 0), (3, 14), (14, 6)]:
        (g,) = torch.autograd.grad(y[0, 0][p], x, retain_graph=True)
        g = g[0, 0].numpy()
        d = lat.distances(p)
        assert np.all(g[d > radius] == 0.0), f"input beyond radius {radius} reaches site {p}"
        assert np.any(g[d == radius] != 0.0), f"no input at distance {radius} reaches {p}"


def test_receptive_field_1d_with_channels_and_wrap():
    torch.manual_seed(0)
    net = build_network((11,), 2, 3, width=5, depth=0, periodic=True).double()
    x = torch.randn(2, 2, 11, dtype=torch.float64, requires_grad=True)
    y = net(x, torch.tensor([0.2, 0.7], dtype=torch.float64))
    (g,) = torch.autograd.grad(y[1, 1, 0], x)
    dist = Lattice((11,), periodic=True).distances(0)  # wraps: sites 8, 9, 10 are within 3
    reach = (g[1] != 0).any(dim=0).numpy()
    np.testing.assert_array_equal(reach, dist <= 3)
    assert np.all(g[0].numpy() == 0)  # samples do not mix


def test_position_channels_break_translation_equivariance_only():
    # Same weights with and without the per-site constants: with them, a shifted input
    # no longer gives the shifted output (position-dependent), and the per-site
    # embedding receives gradients; the input Jacobian stays inside the ball (above).
    torch.manual_seed(0)
    shape = (9, 9)
    net = build_network(shape, 1, 1, width=5, depth=1, periodic=True, position_channels=3)
    with torch.no_grad():
        net.out_bias.normal_()
    x = torch.randn(2, 1, *shape)
    t = torch.tensor([0.3, 0.6])
    y, y_shift = net(x, t), net(torch.roll(x, 2, dims=3), t)
    assert not torch.allclose(torch.roll(y, 2, dims=3), y_shift, atol=1e-4)
    zero = net(torch.zeros(1, 1, *shape), t[:1])[0, 0]
    assert float(zero.detach().std()) > 1e-3  # constant input, site-dependent output
    y.sum().backward()
    assert float(net.position.grad.abs().sum()) > 0
    plain = build_network(shape, 1, 1, width=5, depth=1, periodic=True)
    y0, y0_shift = plain(x, t), plain(torch.roll(x, 2, dims=3), t)
    torch.testing.assert_close(torch.roll(y0, 2, dims=3), y0_shift, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="position_channels=-1"):
        build_network(shape, 1, 1, width=5, depth=1, periodic=True, position_channels=-1)


def test_position_channels_learn_a_position_dependent_posterior():
    # Independent Gaussian sites x0_p ~ N(mu_p, s0^2) with a ramp of means mu_p. At time t
    # (linear path, a = 1 - t, sigma = t) the Bayes x0-MSE per site is
    # s0^2 sigma^2 / (a^2 s0^2 + sigma^2) whatever mu_p is; a translation-equivariant
    # radius-0 network cannot know mu_p and does far worse; with per-site constants the
    # same radius-0 network gets close to the Bayes MSE.
    rng = np.random.default_rng(0)
    shape, s0, t = (6, 6), 0.5, 0.8
    mu = np.linspace(-2, 2, 36)
    X = mu + s0 * rng.standard_normal((4000, 36))
    a, sig = 1 - t, t
    bayes = s0**2 * sig**2 / (a**2 * s0**2 + sig**2)
    kw = dict(lattice_shape=shape, radius=0, width=16, depth=2, t_min=t, t_max=t, epochs=30,
              batch_size=128, learning_rate=5e-3, eval_times=(t,), n_iter_no_change=None,
              device="cpu", random_state=0)
    train, test = X[:3000], X[3000:]
    pos = -LocalDenoiser(position_channels=2, **kw).fit(train).score(test)
    plain = -LocalDenoiser(**kw).fit(train).score(test)
    assert pos < 1.1 * bayes, (pos, bayes)
    assert plain > 3 * bayes, (plain, bayes)


def test_global_network_sees_every_site():
    torch.manual_seed(0)
    for shape in [(28, 28), (9,), (5, 7)]:
        net = build_network(shape, 1, None, width=4, depth=0, periodic=False)
        x = torch.randn(1, 1, *shape, requires_grad=True)
        y = net(x, torch.tensor([0.5]))
        (g,) = torch.autograd.grad(y.flatten()[0], x)
        assert bool((g != 0).all()), shape


# -- deterministic evaluation noise ---------------------------------------------------------
def test_row_noise_is_a_function_of_the_row():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 30))
    z = row_noise(X, (30,), seed=3)
    perm = rng.permutation(400)
    np.testing.assert_array_equal(row_noise(X[perm], (30,), seed=3), z[perm])
    np.testing.assert_array_equal(row_noise(X[:7], (30,), seed=3), z[:7])
    assert not np.allclose(row_noise(X, (30,), seed=4), z)
    assert not np.allclose(row_noise(X, (30,), seed=3, salt=1), z)
    # standard normal: mean 0, variance 1 within sampling error (12000 draws)
    assert abs(z.mean()) < 4 / np.sqrt(z.size)
    assert abs(z.var() - 1) < 4 * np.sqrt(2 / z.size)


# -- closed-form optimal local linear denoiser ----------------------------------------------
def test_linear_denoiser_scalar_formula_on_independent_sites():
    """Independent sites: D = mu + alpha v / (alpha^2 v + sigma^2) (x - alpha mu) at any radius."""
    v = np.linspace(0.5, 2.0, 10)
    mu = np.linspace(-1, 1, 10)
    t = 0.4
    a, s = 1 - t, t
    for r in (0, 2, None):
        den = LinearLocalDenoiser(radius=r, covariance=np.diag(v), mean=mu).fit(np.zeros((2, 10)))
        np.testing.assert_allclose(den.exact_mse(t), v * s**2 / (a**2 * v + s**2), rtol=1e-12)
        x = np.arange(10.0)[None, :]
        np.testing.assert_allclose(den.denoise(x, t), mu + a * v / (a**2 * v + s**2) * (x - a * mu),
                                   rtol=1e-12)


def test_linear_denoiser_empirical_mse_matches_exact(gff):
    _, X, cov = gff
    for t, r in [(0.3, 0), (0.5, 1), (0.7, 2)]:
        den = _linear(r, cov, t, random_state=1)
        per = den.mse_samples(X)[:, 0]
        exact = den.exact_mse(t).mean()
        assert abs(per.mean() - exact) < 4 * per.std() / np.sqrt(len(per)), (t, r)


def test_linear_denoiser_full_radius_equals_global(gff):
    _, X, cov = gff
    rmax = Lattice(SHAPE, periodic=True).max_radius()
    full, glob = _linear(rmax, cov, 0.5), _linear(None, cov, 0.5)
    np.testing.assert_allclose(full.denoise(X[:50], 0.5), glob.denoise(X[:50], 0.5), atol=1e-12)
    np.testing.assert_allclose(full.exact_mse(0.5), glob.exact_mse(0.5), atol=1e-12)


@pytest.mark.parametrize("radius", [1, None])
def test_linear_denoiser_at_selected_sites_matches_the_full_pass(gff, radius):
    _, X, cov = gff
    den = _linear(radius, cov, 0.5)
    xt = 0.5 * X[:20] + 0.5 * row_noise(X[:20], (64,), 0)
    sites = np.array([0, 9, 36, 63])
    est, mse = den.denoise_sites(xt, 0.5, sites)
    np.testing.assert_allclose(est, den.denoise(xt, 0.5)[:, sites], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(mse, den.exact_mse(0.5)[sites], rtol=1e-12)
    np.testing.assert_allclose(mse, den.exact_mse(0.5, sites=sites), rtol=1e-12)


def test_linear_denoiser_open_border_neighbourhoods():
    """On an open lattice a corner's neighbourhood is clipped: compare with a direct solve."""
    rng = np.random.default_rng(1)
    B = rng.normal(size=(20, 20))
    cov = B @ B.T / 20 + np.eye(20)
    lat = Lattice((4, 5))
    den = LinearLocalDenoiser((4, 5), radius=1, covariance=cov, mean=np.zeros(20)).fit(
        np.zeros((2, 20)))
    t, a, s = 0.6, 0.4, 0.6
    om = np.flatnonzero(lat.distances((0, 0)).ravel() <= 1)
    A = a**2 * cov[np.ix_(om, om)] + s**2 * np.eye(len(om))
    w = a * np.linalg.solve(A, cov[om, 0])
    x = rng.normal(size=(3, 20))
    np.testing.assert_allclose(den.denoise(x, t)[:, 0], x[:, om] @ w, rtol=1e-10)
    np.testing.assert_allclose(den.exact_mse(t)[0], cov[0, 0] - a * w @ cov[om, 0], rtol=1e-10)


def test_linear_gap_shrinks_with_radius_in_step_with_exact_cmi():
    shape = (12, 12)
    cov = gaussian_field_covariance(shape, MASS)
    lat = Lattice(shape, periodic=True)
    zeros = np.zeros((2, lat.n_features))
    kw = dict(lattice_shape=shape, periodic=True, covariance=cov, mean=np.zeros(lat.n_features))
    for t in (0.5, 0.7):
        glob = LinearLocalDenoiser(radius=None, **kw).fit(zeros).exact_mse(t).mean()
        radii = np.arange(1, 5)
        gap = np.array([LinearLocalDenoiser(radius=int(r), **kw).fit(zeros).exact_mse(t).mean()
                        for r in radii]) - glob
        reg = [lat.regions(None, int(r)) for r in radii]
        cmi = np.array([exact_cmi(linear_path_cov(cov, t), g.A, g.C, g.B) for g in reg])
        assert np.all(gap > 0) and np.all(np.diff(gap) < 0), gap
        assert np.all(cmi > 0) and np.all(np.diff(cmi) < 0), cmi
        # same exponential decay rate in r (within 25 %)
        slope_gap = np.polyfit(radii, np.log(gap), 1)[0]
        slope_cmi = np.polyfit(radii, np.log(cmi), 1)[0]
        assert abs(slope_gap / slope_cmi - 1) < 0.25, (slope_gap, slope_cmi)


# -- trained networks against the closed form --------------------------------------------------
@pytest.mark.parametrize("t, r", [(0.5, 1), (0.3, 2), (0.7, 0)])
def test_trained_local_denoiser_reaches_optimal_local_linear_mse(gff, t, r):
    train, test, cov = gff
    net = LocalDenoiser(SHAPE, radius=r, periodic=True, width=16, depth=1, t_min=t, t_max=t,
                        eval_times=(t,), epochs=10, batch_size=128, learning_rate=3e-3,
                        device="cpu", random_state=0).fit(train)
    optimum = _linear(r, cov, t).exact_mse(t).mean()
    achieved = -net.score(test)
    assert achieved < 1.05 * optimum, (achieved, optimum)
    # and it is not better than Bayes-optimal beyond sampling error of the test set
    assert achieved > 0.97 * optimum, (achieved, optimum)


@pytest.mark.slow
def test_trained_gap_shrinks_with_radius(gff):
    train, test, cov = gff
    t = 0.5
    kw = dict(periodic=True, width=16, t_min=t, t_max=t, eval_times=(t,), epochs=10,
              batch_size=128, learning_rate=3e-3, device="cpu", random_state=0)
    glob = -GlobalDenoiser(SHAPE, **kw).fit(train).score(test)
    local = [-LocalDenoiser(SHAPE, radius=r, depth=1, **kw).fit(train).score(test)
             for r in (0, 1, 2)]
    gaps = np.array(local) - glob
    assert gaps[0] > gaps[1] > gaps[2] - 2e-3, gaps


# -- the estimators ----------------------------------------------------------------------------
def _small_model(**kw):
    params = dict(lattice_shape=(6, 6), radius=1, width=8, depth=1, epochs=3, batch_size=32,
                  device="cpu", random_state=0)
    params.update(kw)
    return LocalDenoiser(**params)


@pytest.fixture(scope="module")
def small_data():
    return sample_gaussian_field((6, 6), 1.0, 200, random_state=2).reshape(200, -1)


def test_score_is_deterministic_given_random_state(small_data):
    a = _small_model().fit(small_data)
    b = _small_model().fit(small_data)
    assert a.score(small_data) == a.score(small_data) == b.score(small_data)
    np.testing.assert_array_equal(a.transform(small_data), b.transform(small_data))
    c = _small_model(random_state=1).fit(small_data)
    assert c.score(small_data) != a.score(small_data)
    s = a.score_samples(small_data)
    assert s.shape == (200,) and np.all(s < 0)
    np.testing.assert_allclose(a.score(small_data), s.mean())


def test_transform_and_predict_noise_are_consistent(small_data):
    m = _small_model(transform_t=0.4).fit(small_data)
    xt = 0.6 * small_data + 0.4 * row_noise(small_data, (36,), 9)
    x0 = m.transform(xt)
    np.testing.assert_allclose(x0, m.denoise(xt, 0.4))
    np.testing.assert_allclose(m.predict_noise(xt, 0.4), (xt - 0.6 * x0) / 0.4, rtol=1e-10)
    np.testing.assert_array_equal(m.denoise(small_data, 0.0), small_data)  # no noise at t = 0


def test_clone_and_set_params_radius(small_data):
    m = _small_model()
    m2 = clone(m).set_params(radius=3)
    assert m2.get_params()["radius"] == 3 and m.radius == 1
    m2.fit(small_data)
    assert m2.network_.radius == 3
    g = clone(m).set_params(radius=None).fit(small_data)
    assert type(g.network_).__name__ == "GlobalScoreNet"
    with pytest.raises(ValueError, match="radius=-1"):
        clone(m).set_params(radius=-1).fit(small_data)
    with pytest.raises(ValueError, match="lattice_shape"):
        _small_model(lattice_shape=(5, 5)).fit(small_data)


def test_vp_path_and_channels():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2 * 10))  # 1-D chain of 10 sites with 2 channels
    m = LocalDenoiser((10,), radius=2, n_channels=2, path="cosine", width=8, epochs=2,
                      device="cpu", random_state=0).fit(X)
    assert m.transform(X).shape == X.shape and np.isfinite(m.score(X))


def test_pickle_loads_in_a_fresh_cpu_only_process(small_data, tmp_path):
    m = _small_model().fit(small_data)
    path = tmp_path / "m.pkl"
    path.write_bytes(pickle.dumps(m))
    np.save(tmp_path / "x.npy", small_data[:20])
    code = textwrap.dedent(f"""
        import pickle, numpy as np, torch
        assert not torch.cuda.is_available()
        m = pickle.loads(open({str(path)!r}, "rb").read())
        x = np.load({str(tmp_path / "x.npy")!r})
        np.save({str(tmp_path / "y.npy")!r}, m.transform(x))
        print(m.score(x))
    """)
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), m.transform(small_data[:20]),
                               rtol=1e-6, atol=1e-6)
    assert float(out.stdout.strip()) == pytest.approx(m.score(small_data[:20]), rel=1e-6)


def test_save_load_with_weights_only(small_data, tmp_path):
    for m in (_small_model(), _small_model(position_channels=2),
              GlobalDenoiser((6, 6), width=4, epochs=1, device="cpu", random_state=0)):
        m.fit(small_data)
        path = tmp_path / f"{type(m).__name__}.pt"
        m.save(path)
        torch.load(path, weights_only=True)  # plain tensors and strings only
        m2 = type(m).load(path, device="cpu")
        assert m2.get_params()["lattice_shape"] == (6, 6)
        assert m2.get_params().get("position_channels") == m.get_params().get("position_channels")
        np.testing.assert_array_equal(m2.transform(small_data), m.transform(small_data))
        assert m2.score(small_data) == m.score(small_data)
        m3 = pickle.loads(pickle.dumps(m))
        np.testing.assert_array_equal(m3.transform(small_data), m.transform(small_data))
    with pytest.raises(ValueError, match="LocalDenoiser"):
        LocalDenoiser.load(tmp_path / "GlobalDenoiser.pt")


def test_grid_search_over_radius_without_scoring(small_data):
    from sklearn.model_selection import GridSearchCV

    gs = GridSearchCV(_small_model(epochs=2), {"radius": [0, 1]}, cv=2).fit(small_data)
    assert set(gs.cv_results_["param_radius"]) == {0, 1}
    assert np.all(np.isfinite(gs.cv_results_["mean_test_score"]))


# -- patch posterior ----------------------------------------------------------------------------
def test_patch_posterior_memorises_at_small_noise_and_averages_at_large():
    rng = np.random.default_rng(0)
    Y = rng.normal(size=(30, 25))
    x = 0.99 * Y[:5] + 0.01 * rng.normal(size=(5, 25))
    for eq in (False, True):
        den = PatchPosteriorDenoiser((5, 5), radius=2, equivariant=eq).fit(Y)
        np.testing.assert_allclose(den.denoise(x, 0.01), Y[:5], atol=1e-6)
    den = PatchPosteriorDenoiser((5, 5), radius=1).fit(Y)
    np.testing.assert_allclose(den.denoise(x, 1.0), np.broadcast_to(Y.mean(0), x.shape),
                               atol=1e-12)


def _brute_patch_posterior(Y, x, shape, k, r, a, s, equivariant):
    """Direct loops over sites and training patches (zero-padded open borders)."""
    H, W = shape
    pad = lambda im: np.pad(im.reshape(H, W, k), ((r, r), (r, r), (0, 0)))  # noqa: E731
    patch = lambda im, i, j: pad(im)[i:i + 2 * r + 1, j:j + 2 * r + 1].ravel()  # noqa: E731
    out = np.zeros((H, W, k))
    for i in range(H):
        for j in range(W):
            xp = patch(x, i, j)
            pos = [(u, v) for u in range(H) for v in range(W)] if equivariant else [(i, j)]
            ys = [(patch(y, u, v), y.reshape(H, W, k)[u, v]) for y in Y for (u, v) in pos]
            logw = np.array([-np.sum((xp - a * yp) ** 2) / (2 * s * s) for yp, _ in ys])
            w = np.exp(logw - logw.max())
            out[i, j] = sum(wi * c for wi, (_, c) in zip(w, ys, strict=True)) / w.sum()
    return out.ravel()


@pytest.mark.parametrize("equivariant", [False, True])
def test_patch_posterior_matches_direct_loops(equivariant):
    rng = np.random.default_rng(3)
    shape, k, r, t = (4, 5), 2, 1, 0.6
    Y = rng.normal(size=(6, 40))
    x = rng.normal(size=(2, 40))
    den = PatchPosteriorDenoiser(shape, radius=r, n_channels=k, equivariant=equivariant).fit(Y)
    got = den.denoise(x, t)
    for n in range(2):
        want = _brute_patch_posterior(Y, x[n], shape, k, r, 1 - t, t, equivariant)
        np.testing.assert_allclose(got[n], want, rtol=1e-9, atol=1e-12)


def test_equivariant_patch_posterior_commutes_with_shifts():
    rng = np.random.default_rng(1)
    Y = rng.normal(size=(20, 36))
    den = PatchPosteriorDenoiser((6, 6), radius=1, periodic=True, equivariant=True).fit(Y)
    x = rng.normal(size=(3, 36))
    shift = lambda a: np.roll(a.reshape(-1, 6, 6), (2, -1), axis=(1, 2)).reshape(len(a), -1)  # noqa: E731
    np.testing.assert_allclose(den.denoise(shift(x), 0.5), shift(den.denoise(x, 0.5)), atol=1e-12)


def test_patch_posterior_close_to_linear_on_gaussian_data(gff):
    train, test, cov = gff
    t = 0.7
    patch = PatchPosteriorDenoiser(SHAPE, radius=0, periodic=True, equivariant=True,
                                   max_patches=4000, eval_times=(t,), random_state=0).fit(train)
    assert patch.bank_.shape == (4000, 1)
    optimum = _linear(0, cov, t).exact_mse(t).mean()
    assert -patch.score(test[:300]) < 1.05 * optimum


# -- scikit-learn conformance -------------------------------------------------------------------
# No check is expected to fail; the dict is where a known failure would be listed with its reason.
EXPECTED_FAILED_CHECKS: dict[str, str] = {}


@parametrize_with_checks(
    [LocalDenoiser(width=4, depth=1, epochs=2, device="cpu", random_state=0),
     LocalDenoiser(width=4, depth=1, epochs=2, position_channels=2, device="cpu",
                   random_state=0),
     GlobalDenoiser(width=4, epochs=2, device="cpu", random_state=0),
     LinearLocalDenoiser(random_state=0),
     PatchPosteriorDenoiser(random_state=0),
     PatchPosteriorDenoiser(equivariant=True, random_state=0)],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_max_grad_norm_clips_every_step(small_data):
    """A tiny clipping norm freezes the weights near their (seeded) initialisation."""

    def weights(**kw):
        m = _small_model(epochs=kw.pop("epochs", 1), n_iter_no_change=None, **kw).fit(small_data)
        return torch.cat([p.detach().ravel() for p in m.network_.parameters()])

    w0 = weights(epochs=0)
    free = (weights() - w0).abs().max().item()
    clipped = (weights(max_grad_norm=1e-12) - w0).abs().max().item()
    # Adam rescales the clipped gradient, but eps = 1e-8 dominates a norm of 1e-12
    assert free > 1e-3 and clipped < 1e-5
    with pytest.raises(ValueError, match="max_grad_norm=0"):
        _small_model(max_grad_norm=0).fit(small_data)


def test_ema_decay_keeps_the_moving_average_of_the_iterates(small_data):
    """w_ema <- d_k w_ema + (1 - d_k) w after every step, starting from the first iterate:
    d -> 0 is the optimiser's own weights (the same fit as without averaging); d -> 1
    with the warm-up is a blend of the iterates, neither the first nor the last."""

    def fit(**kw):  # a batch larger than the data: one step per epoch
        return _small_model(n_iter_no_change=None, validation_fraction=0.3, batch_size=500,
                            **kw).fit(small_data)

    def weights(m):
        return torch.cat([p.detach().ravel() for p in m.network_.parameters()])

    after_one = weights(fit(epochs=1))
    plain = fit(epochs=5)
    assert (weights(plain) - after_one).abs().max().item() > 1e-3  # the steps do move it
    fresh = fit(epochs=5, ema_decay=1e-9)
    assert torch.allclose(weights(fresh), weights(plain), atol=1e-6)
    np.testing.assert_allclose(fresh.validation_curve_, plain.validation_curve_, rtol=1e-5)
    slow = weights(fit(epochs=5, ema_decay=1 - 1e-9))
    assert (slow - after_one).abs().max().item() > 1e-4
    assert (slow - weights(plain)).abs().max().item() > 1e-4


def test_ema_warmup_forgets_the_first_iterate():
    """d_k = min(decay, (1 + k) / (10 + k)), and the update is w_ema <- d w_ema + (1 - d) w;
    after n updates of a constant w the first iterate keeps prod_k d_k of its weight."""
    from markovphase.denoisers.network_base import ema_decay_at, ema_warmup_update

    assert ema_decay_at(0.999, 1) == pytest.approx(2 / 11)
    assert ema_decay_at(0.999, 90) == pytest.approx(0.91)
    assert ema_decay_at(0.999, 10**6) == 0.999
    assert ema_decay_at(0.5, 3) == pytest.approx(4 / 13)
    assert ema_decay_at(0.5, 9) == 0.5
    update = ema_warmup_update(0.999)
    ema, w = [torch.zeros(3, dtype=torch.float64)], [torch.ones(3, dtype=torch.float64)]
    n = 3500
    for k in range(1, n + 1):
        update(ema, w, torch.tensor(k))
    kept = np.prod([ema_decay_at(0.999, k) for k in range(1, n + 1)])
    np.testing.assert_allclose(ema[0].numpy(), 1 - kept, rtol=1e-12)
    # 0.999 ** 3500 = 0.03 without the warm-up; with it the first iterate is gone
    assert kept < 1e-6 < 0.999 ** n


@pytest.mark.parametrize("bad", [0, 1, 1.5, -0.1, True, "0.99"])
def test_ema_decay_must_be_in_the_open_unit_interval(small_data, bad):
    with pytest.raises(ValueError, match="ema_decay="):
        _small_model(ema_decay=bad).fit(small_data)
