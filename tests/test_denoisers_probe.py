"""The denoiser probe (local-minus-global gap) and the recovery experiment."""

import numpy as np
import pytest
import torch

from markovphase import plugins
from markovphase.datasets.gaussian_field import gaussian_field_covariance, sample_gaussian_field
from markovphase.denoisers import LinearLocalDenoiser, LocalDenoiser
from markovphase.denoisers.recovery import euler_recover, plot_recovery, recovery_experiment
from markovphase.probes.denoiser import DenoiserProbe

torch.set_num_threads(1)

SHAPE = (8, 8)


@pytest.fixture(scope="module")
def field():
    return sample_gaussian_field(SHAPE, 0.5, 3000, random_state=3).reshape(3000, -1)


def test_probe_is_registered():
    assert plugins.get("probe", "denoiser") is DenoiserProbe


def test_linear_probe_gap_matches_exact_and_shrinks(field):
    p = DenoiserProbe(SHAPE, radii=[0, 1, 2], t=0.5, periodic=True, random_state=0).fit(field)
    rows = p.results_
    assert [r["r"] for r in rows] == [0, 1, 2]
    gaps = np.array([r["value"] for r in rows])
    exact = np.array([r["exact_gap"] for r in rows])
    se = np.array([r["stderr"] for r in rows])
    assert np.all(np.diff(exact) < 0) and exact[0] > 0
    assert gaps[0] > gaps[1] > gaps[2] - 3 * se[2]
    # the held-out gap estimates the exact one (training covariance) within 4 SE
    assert np.all(np.abs(gaps - exact) < 4 * se + 1e-3), (gaps, exact, se)
    for r in rows:
        assert r["local_mse"] - r["global_mse"] == pytest.approx(r["value"])
        assert r["n_samples"] == 900


def test_probe_at_t0_is_exactly_zero(field):
    p = DenoiserProbe(SHAPE, radii=[1, 2], t=0.0, periodic=True, random_state=0).fit(field)
    assert all(r["value"] == 0.0 and r["stderr"] == 0.0 for r in p.results_)


def test_probe_single_site_and_errors(field):
    p = DenoiserProbe(SHAPE, radii=[1], t=0.6, sites=(3, 3), periodic=True,
                      random_state=0).fit(field)
    assert np.isfinite(p.results_[0]["value"])
    with pytest.raises(ValueError, match="method='bogus'"):
        DenoiserProbe(SHAPE, method="bogus").fit(field)
    with pytest.raises(ValueError, match="radii"):
        DenoiserProbe(SHAPE, radii=[2, 1]).fit(field)


def test_probe_network_and_patch_methods(field):
    X = field[:400]
    net = DenoiserProbe(SHAPE, radii=[0, 2], t=0.5, periodic=True, method="network",
                        network_params=dict(width=8, epochs=2, device="cpu"),
                        random_state=0).fit(X)
    assert [r["method"] for r in net.results_] == ["network", "network"]
    assert all(np.isfinite(r["value"]) for r in net.results_)
    patch = DenoiserProbe(SHAPE, radii=[0, 1], t=0.8, periodic=True, method="patch",
                          random_state=0).fit(X)
    assert all(np.isfinite(r["value"]) for r in patch.results_)


def test_probe_in_phase_scan(field):
    from markovphase import PhaseScan

    scan = PhaseScan(lattice_shape=SHAPE, times=[0.3, 0.6], radii=[1, 2], probe="denoiser",
                     periodic=True, random_state=0).fit(field[:1000])
    df = scan.results_ if hasattr(scan.results_, "columns") else None
    assert df is not None and set(df["r"]) == {1, 2} and len(df) == 4


# -- recovery ------------------------------------------------------------------------------------
def test_euler_recovery_follows_the_exact_flow_of_a_gaussian():
    """x0 ~ N(0, v) per site: the flow maps x_T to x_T sqrt(v / (alpha^2 v + sigma^2))."""
    v = np.array([0.5, 1.0, 2.0, 4.0])
    den = LinearLocalDenoiser(radius=0, covariance=np.diag(v), mean=np.zeros(4)).fit(
        np.zeros((2, 4)))
    xT = np.random.default_rng(0).normal(size=(5, 4))
    T = 0.8
    out = euler_recover(den, xT, T, n_steps=1000)  # Euler error O(dt): 1e-3 relative here
    exact = xT * np.sqrt(v / ((1 - T) ** 2 * v + T**2))
    np.testing.assert_allclose(out, exact, rtol=2e-3)
    # one Euler step of the linear path returns the posterior mean at T
    np.testing.assert_allclose(euler_recover(den, xT, T, 1), den.denoise(xT, T))


def test_recovery_grid_and_figure(field, tmp_path):
    cov = gaussian_field_covariance(SHAPE, 0.5)
    kw = dict(lattice_shape=SHAPE, periodic=True, covariance=cov, mean=np.zeros(64))
    models = {r: LinearLocalDenoiser(radius=r, **kw).fit(field[:10]) for r in (0, 1, None)}
    res = recovery_experiment(models, field[:64], t_finals=[0.1, 0.5], dt=1 / 32)
    table = res.mse_table()
    assert table.shape == (2, 3)
    assert {r["n_steps"] for r in res.rows} == {4, 16}
    # noisier starts recover worse; a wider denoiser recovers better
    assert np.all(table.loc[0.5].to_numpy() > table.loc[0.1].to_numpy())
    assert table.loc[0.5, 0] > table.loc[0.5, 1]
    fig = plot_recovery(res, n_images=2, path=tmp_path / "rec.png")
    assert (tmp_path / "rec.png").stat().st_size > 0
    assert len(fig.axes) == 2 * 2 * (2 + 3)


def test_recovery_with_a_trained_local_model(field):
    m = LocalDenoiser(SHAPE, radius=1, periodic=True, width=8, epochs=2, device="cpu",
                      random_state=0).fit(field[:300])
    res = recovery_experiment({1: m}, field[:16], t_finals=[0.2], n_steps=3)
    assert res.rows[0]["n_steps"] == 3 and np.isfinite(res.rows[0]["mse"])
