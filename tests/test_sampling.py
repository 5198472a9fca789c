"""The hybrid sampler on the Gaussian free field, where everything is exact.

For Gaussian data the posterior mean is linear, so the closed-form
``LinearLocalDenoiser`` with the exact covariance is the Bayes denoiser
(global, radius=None) and the whole sampler is a linear map ``x_0 = M x_1``:
sampling from the identity gives ``M`` and the exact covariance of the
sampler's output, ``M M^T``, with no sampling noise. That separates the
discretisation/locality bias from Monte-Carlo error.
"""

import numpy as np
import pandas as pd
import pytest

from markovphase.datasets.gaussian_field import gaussian_field_covariance
from markovphase.denoisers import CenteredDenoiser, LinearLocalDenoiser, LocalDenoiser, as_denoiser
from markovphase.metrics import covariance_error
from markovphase.sampling import HybridSampler, time_grid
from markovphase.schedule import LocalitySchedule

SHAPE, MASS = (8, 8), 1.0
D = 64
SIGMA = gaussian_field_covariance(SHAPE, MASS)
HYBRID = LocalitySchedule([(0.0, 0.3, 2), (0.3, 0.7, None), (0.7, 1.0, 2)])


def wiener(radius, path="linear"):
    return LinearLocalDenoiser(lattice_shape=SHAPE, radius=radius, periodic=True,
                               path=path, covariance=SIGMA,
                               mean=np.zeros(D)).fit(np.zeros((2, D)))


@pytest.fixture(scope="module")
def dens():
    return {r: wiener(r) for r in (None, 0, 1, 2)}


def transfer_cov(sampler):
    """Exact output covariance ``M M^T`` of a linear sampler (rows of the output are M^T)."""
    O = sampler.sample(x_start=np.eye(D))
    return O.T @ O


def rel_err(C):
    return np.linalg.norm(C - SIGMA) / np.linalg.norm(SIGMA)


def test_exact_global_sampler_converges_at_the_method_order(dens):
    errs = {m: [rel_err(transfer_cov(HybridSampler(None, global_denoiser=dens[None], steps=n,
                                                    method=m))) for n in (10, 20, 40)]
            for m in ("euler", "heun")}
    e, h = np.array(errs["euler"]), np.array(errs["heun"])
    # Euler is first order, Heun second order: halving the step divides the error by ~2 / ~4
    np.testing.assert_allclose(e[:-1] / e[1:], 2.0, rtol=0.15)
    np.testing.assert_allclose(h[:-1] / h[1:], 4.0, rtol=0.25)
    assert h[-1] < 2e-3


def test_euler_on_the_linear_path_is_ddim(dens):
    x = np.random.default_rng(0).standard_normal((5, D))
    a = HybridSampler(HYBRID, {2: dens[2]}, dens[None], steps=12, method="euler").sample(x_start=x)
    b = HybridSampler(HYBRID, {2: dens[2]}, dens[None], steps=12, method="ddim").sample(x_start=x)
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_ddim_on_a_variance_preserving_path_is_exact_in_the_limit():
    g = wiener(None, path="cosine")
    errs = [rel_err(transfer_cov(HybridSampler(None, global_denoiser=g, steps=n, method="ddim",
                                               path="cosine"))) for n in (10, 40)]
    assert errs[0] / errs[1] == pytest.approx(4.0, rel=0.2)  # first order in the step
    with pytest.raises(ValueError, match="method='heun' integrates the linear path.*ddim"):
        HybridSampler(None, global_denoiser=g, method="heun", path="cosine").sample(2)


def test_deprecated_path_spellings_warn_and_sample_the_same():
    """``schedule_path=`` (sampler) and ``schedule=`` (denoiser) are the old names of the
    forward path: they warn and give the very same samples for one release."""
    x = np.random.default_rng(1).standard_normal((4, D))
    with pytest.warns(FutureWarning, match="'schedule' is deprecated"):
        g_old = LinearLocalDenoiser(lattice_shape=SHAPE, radius=None, periodic=True,
                                    schedule="cosine", covariance=SIGMA,
                                    mean=np.zeros(D)).fit(np.zeros((2, D)))
    g = wiener(None, path="cosine")
    new = HybridSampler(None, global_denoiser=g, steps=8, method="ddim", path="cosine")
    old = HybridSampler(None, global_denoiser=g_old, steps=8, method="ddim",
                        schedule_path="cosine")
    with pytest.warns(FutureWarning, match="schedule_path is deprecated"):
        out_old = old.sample(x_start=x)
    np.testing.assert_array_equal(out_old, new.sample(x_start=x))
    assert g_old.path_ == g.path_


def test_hybrid_sampler_matches_exact_covariance_within_sampling_error(dens):
    """Acceptance: local r=2 outside [0.3, 0.7], global inside; Heun, 20 steps."""
    sampler = HybridSampler(HYBRID, {2: dens[2]}, dens[None], steps=20, method="heun",
                            random_state=0)
    n = 2000
    bias = rel_err(transfer_cov(sampler))  # exact: discretisation + locality
    X = sampler.sample(n)
    for stat in ("frobenius", "kl"):
        res = covariance_error(X, SIGMA, statistic=stat, n_null=100, random_state=1)
        assert res["p_value"] > 0.01, res
    null = covariance_error(X, SIGMA, n_null=100, random_state=1)
    assert bias < 0.02 < null["null_mean"]  # the exact bias is far below the sampling error
    # the test has power: an all-local r = 0 sampler is rejected by a wide margin
    bad = HybridSampler(LocalitySchedule.constant(0), dens[0], steps=20, random_state=0)
    res = covariance_error(bad.sample(n), SIGMA, n_null=100, random_state=1)
    assert res["p_value"] < 0.02 and res["z"] > 20


def test_locality_bias_shrinks_with_radius(dens):
    errs = [rel_err(transfer_cov(HybridSampler(LocalitySchedule.constant(r), dens[r], steps=20)))
            for r in (0, 1, 2)]
    hybrid = rel_err(transfer_cov(HybridSampler(HYBRID, {2: dens[2]}, dens[None], steps=20)))
    assert errs[0] > errs[1] > errs[2] > hybrid


@pytest.mark.parametrize("spacing, rho", [("uniform", 1), ("quadratic", 2), ("cubic", 3),
                                          (2.5, 2.5), (1, 1)])
def test_time_grid_powers(spacing, rho):
    u = np.arange(8, -1, -1) / 8
    np.testing.assert_allclose(time_grid(8, spacing), u**rho, rtol=0, atol=1e-15)
    np.testing.assert_allclose(time_grid(8, spacing, t_end=0.1), 0.1 + 0.9 * u**rho, atol=1e-15)
    g = time_grid(8, spacing)
    assert g[0] == 1.0 and g[-1] == 0.0 and np.all(np.diff(g) < 0)


def test_time_grid_rejects_bad_spacing():
    for bad in ("steep", 0.5, np.nan, True):
        with pytest.raises(ValueError, match=r"time_spacing=.*power >= 1"):
            time_grid(8, bad)
    with pytest.raises(ValueError, match="strictly decreasing"):
        time_grid(8, [1.0, 0.5, 0.6, 0.0])
    np.testing.assert_array_equal(time_grid(99, [1.0, 0.3, 0.0]), [1.0, 0.3, 0.0])


def test_larger_power_moves_calls_to_low_noise(dens):
    """Heun on a steeper grid spends fewer of its 2 steps - 1 calls at high noise."""
    sched = LocalitySchedule([(0.0, 0.35, 2), (0.35, 1.0, None)])
    n_global = {}
    for spacing in ("uniform", "quadratic", "cubic"):
        s = HybridSampler(sched, {2: dens[2]}, dens[None], steps=10, time_spacing=spacing)
        s.sample(5, random_state=0)
        assert s.stats_["n_calls"] == 19
        n_global[spacing] = s.phases_.set_index("t_lo").n_calls[0.35]
    # grid times (k/10)^rho >= 0.35: k >= 4 (uniform), 6 (quadratic), 8 (cubic); each is a
    # predictor call and, but for t = 1, a corrector call
    assert n_global == {"uniform": 7 + 6, "quadratic": 5 + 4, "cubic": 3 + 2}


def test_phase_accounting(dens):
    steps = 20
    s = HybridSampler(HYBRID, {2: dens[2]}, dens[None], steps=steps, method="heun")
    s.sample(50, random_state=0)
    grid = time_grid(steps)
    evals = np.concatenate([grid[:-1], grid[1:-1]])  # predictor at t_k, corrector at t_{k+1} > 0
    p = s.phases_
    assert list(p.radius) == [2, None, 2]
    for _, row in p.iterrows():
        inside = (evals >= row.t_lo) & ((evals < row.t_hi) | (row.t_hi == 1.0))
        assert row.n_calls == inside.sum()
    assert s.stats_["n_calls"] == 2 * steps - 1
    # analytic FLOPs: each call of a radius-2 filter on 50 rows, at an interior time
    per_call = dens[2].flops(50, 0.1)
    m = 25.0
    assert per_call == pytest.approx(50 * (D * 2 * m + 3 * D) + D * (m**3 / 3 + 3 * m**2))
    assert p.flops[0] == pytest.approx(p.n_calls[0] * per_call)
    # per row, a global filter costs 2 d + 3 FLOPs per feature, a radius-2 one 2 * 25 + 3
    def per_row(den):
        return (den.flops(100, 0.5) - den.flops(50, 0.5)) / 50

    assert per_row(dens[None]) / per_row(dens[2]) == pytest.approx((2 * D + 3) / (2 * m + 3))
    summary = s.phase_summary()
    assert set(summary.kind) == {"global", "local r=2"}
    assert summary.n_calls.sum() == 2 * steps - 1


def test_torch_flops_match_the_convolution_count():
    shape, w = (4, 4), 8
    X = np.random.default_rng(0).standard_normal((10, 16))
    net = LocalDenoiser(lattice_shape=shape, radius=1, depth=0, width=w, epochs=0,
                        device="cpu", random_state=0).fit(X)
    s = HybridSampler(LocalitySchedule.constant(1), net, steps=3, method="euler")
    s.sample(7, random_state=0)
    hw = 16
    per_sample = (2 * hw * 9 * w + 2 * hw * w  # 3x3 conv (1 -> w), 1x1 out (w -> 1)
                  + 2 * 17 * 64 + 2 * 64 * 2 * w)  # time-embedding MLP
    assert s.stats_["total_flops"] == pytest.approx(3 * 7 * per_sample)
    assert s.stats_["flops_per_sample"] == pytest.approx(3 * per_sample)


def test_adapters_and_errors(dens):
    class X0:
        def predict_x0(self, X, t):
            return np.zeros_like(X)

    x = np.ones((3, D))
    out = HybridSampler(LocalitySchedule.constant(1), {1: X0()}, steps=4,
                        method="euler").sample(x_start=x)
    np.testing.assert_allclose(out, 0.0)  # the last Euler step returns x0_hat
    f = as_denoiser(lambda X, t: 0.5 * X)
    assert f.denoise(x, 0.3)[0, 0] == 0.5
    with pytest.raises(TypeError, match="not a denoiser"):
        as_denoiser(3)
    with pytest.raises(ValueError, match=r"radii \[2\] with no denoiser"):
        HybridSampler(HYBRID, {1: dens[1]}, dens[None]).sample(2)
    with pytest.raises(ValueError, match="global_denoiser=None"):
        HybridSampler(HYBRID, {2: dens[2]}).sample(2)
    with pytest.raises(ValueError, match="method='rk4'"):
        HybridSampler(None, global_denoiser=dens[None], method="rk4").sample(2)
    with pytest.raises(ValueError, match="n_samples=0"):
        HybridSampler(None, global_denoiser=dens[None]).sample(0)
    with pytest.raises(ValueError, match="steps=0"):
        HybridSampler(None, global_denoiser=dens[None], steps=0).sample(2)
    # a schedule given as JSON text works the same as the object
    a = HybridSampler(HYBRID.to_json(), {2: dens[2]}, dens[None], steps=5).sample(4, random_state=3)
    b = HybridSampler(HYBRID, {2: dens[2]}, dens[None], steps=5).sample(4, random_state=3)
    np.testing.assert_array_equal(a, b)


def test_sample_command_writes_the_report(tmp_path):
    import json

    from click.testing import CliRunner

    from markovphase.cli import get_cli

    cli = get_cli()

    sched = tmp_path / "mine.json"
    LocalitySchedule([(0, 0.5, 1), (0.5, 1, None)]).to_json(sched)
    out = tmp_path / "report"
    args = ["sample", "--dataset", "gaussian-field", "--data", "shape=6,6", "--data", "mass=1.0",
            "--data", "n_samples=600", "--n-train", "300", "--n-samples", "200",
            "--radius", "1", "--window", "0.3,0.7", "--preset", "all-global", "--preset",
            "local-global-local", "--schedule", f"mine={sched}", "--no-derive",
            "--denoiser", "linear", "--gap-radii", "1,2", "--gap-tolerance", "0.1",
            "--gap-measure", "rel_explained", "--time-spacing", "quadratic",
            "--steps", "6", "--out", str(out)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    for f in ("summary.csv", "metrics.csv", "phases.csv", "samples.npz", "samples.png",
              "schedules/mine.json", "schedules/all-global.json"):
        assert (out / f).exists(), f
    summary = {r["schedule"]: r for r in json.loads((out / "result.json").read_text())["summary"]}
    assert set(summary) == {"all-global", "local-global-local", "mine", "derived-gap"}
    gap = LocalitySchedule.from_json(out / "schedules" / "derived-gap.json")
    assert gap.metadata["tolerance"] == 0.1 and set(gap.radii) <= {1, 2}
    assert gap.metadata["measure"] == "rel_explained"
    table = pd.read_csv(out / "gap.csv")
    assert set(table.r) == {1, 2}
    np.testing.assert_allclose(table.rel_explained,
                               table.gap / (table.prior_mse - table.global_mse), rtol=1e-9)
    # the quadratic grid reaches the sampler: Heun evaluates at (1 - i/6)^2, twice per step
    # but the last; [0.3, 0.7) holds 0.694 and 0.444 (4 calls; the uniform grid: 6)
    phases = pd.read_csv(out / "phases.csv")
    lgl = phases[phases.schedule == "local-global-local"]
    assert lgl.n_calls.sum() == 11 and lgl[lgl.radius.isna()].n_calls.item() == 4
    assert summary["local-global-local"]["global_call_fraction"] == pytest.approx(4 / 11)
    assert summary["all-global"]["global_call_fraction"] == 1.0
    assert summary["all-global"]["flops_vs_all_global"] == 1.0
    assert summary["local-global-local"]["flops_vs_all_global"] < 1.0
    assert LocalitySchedule.from_json(out / "schedules" / "mine.json").radius_at(0.2) == 1
    bad = CliRunner().invoke(cli, args[:-2] + ["--window", "0.7", "--out", str(out)])
    assert bad.exit_code != 0 and "--window" in bad.output
    bad = CliRunner().invoke(cli, args[:-2] + ["--gap-radii", "1,x", "--out", str(out)])
    assert bad.exit_code != 0 and "--gap-radii" in bad.output
    bad = CliRunner().invoke(cli, args[:-2] + ["--global-repeats", "1", "--repeat-schedule",
                                               "nope", "--out", str(out)])
    assert bad.exit_code == 1 and "Error: repeat_schedules=['nope']" in bad.output
    assert "local-global-local" in bad.output  # the schedules it could have named
    for spacing in ("0.5", "steep"):
        bad = CliRunner().invoke(cli, args[:-2] + ["--time-spacing", spacing, "--out", str(out)])
        assert bad.exit_code != 0
        assert "--time-spacing" in bad.output and repr(spacing) in bad.output


def test_centered_denoiser_adds_back_the_mean_exactly():
    rng = np.random.default_rng(5)
    mu = np.linspace(-1, 1, D)
    X = rng.standard_normal((400, D)) @ np.linalg.cholesky(SIGMA).T + mu
    c = CenteredDenoiser(LinearLocalDenoiser(lattice_shape=SHAPE, radius=1, periodic=True,
                                             covariance=SIGMA, mean=np.zeros(D))).fit(X)
    direct = LinearLocalDenoiser(lattice_shape=SHAPE, radius=1, periodic=True, covariance=SIGMA,
                                 mean=X.mean(0)).fit(X)
    xt = 0.6 * X[:5] + 0.4 * rng.standard_normal((5, D))
    np.testing.assert_allclose(c.denoise(xt, 0.4), direct.denoise(xt, 0.4), atol=1e-12)
    np.testing.assert_allclose(c.denoise(xt, 1.0), np.broadcast_to(X.mean(0), xt.shape))
    assert c.flops(5, 0.4) == pytest.approx(c.estimator_.flops(5, 0.4) + 3 * 5 * D)


def test_denoiser_gap_matches_the_exact_wiener_mse(dens):
    from markovphase.experiment import denoiser_gap

    rng = np.random.default_rng(6)
    X = rng.standard_normal((3000, D)) @ np.linalg.cholesky(SIGMA).T
    from markovphase.sampling import step_coefficients, time_grid

    grid = time_grid(8, "quadratic")
    table = denoiser_gap(dens[None], {0: dens[0], 1: dens[1], 2: dens[2]}, X, [0.3, 0.6, 0.95],
                         prior_mean=np.zeros(D), grid=grid)
    # the sampling-weighted absolute excess: c(t)^2 gap / prior_mse
    c = step_coefficients(dens[None].path_, grid, table.t)
    np.testing.assert_allclose(table.weighted_gap, c**2 * table.gap / table.prior_mse)
    prior = np.trace(SIGMA) / D  # MSE of predicting the (exact, zero) mean
    for _, row in table.iterrows():
        exact_local = dens[row.r].exact_mse(row.t).mean()
        exact_global = dens[None].exact_mse(row.t).mean()
        assert row.local_mse == pytest.approx(exact_local, rel=0.03)
        assert row.global_mse == pytest.approx(exact_global, rel=0.03)
        assert row.prior_mse == pytest.approx(prior, rel=0.05)
        # paired noise: the gap is far more precise than either MSE
        assert row.gap == pytest.approx(exact_local - exact_global, rel=0.1, abs=2e-4)
        # share of the global filter's explained MSE that radius r misses; near t = 1 the
        # explained part (the denominator) is ~1e-3 of the prior, so the ratio is noisier
        exact_share = (exact_local - exact_global) / (prior - exact_global)
        assert row.rel_explained == pytest.approx(exact_share, rel=0.1,
                                                  abs=0.025 if row.t > 0.9 else 0.005)
    # near t = 1 both MSEs approach the prior: rel_gap vanishes, the missed share does not
    hi = table[table.t == 0.95].set_index("r")
    assert hi.rel_gap[0] < 0.05 and hi.rel_explained[0] > 5 * hi.rel_gap[0]
    at = table[table.t == 0.6].set_index("r").rel_gap
    assert at[0] > at[1] > at[2] > -1e-3


def test_analytic_flops_of_the_global_wiener_filter(dens):
    # one shared Cholesky of the d x d matrix, one pair of solves per site, d^2 weights per row
    n = 7
    expected = n * (D * 2 * D + 3 * D) + D**3 / 3 + D**2 + 2 * D * D**2
    assert dens[None].flops(n, 0.5) == pytest.approx(expected)
    assert dens[None].flops(n, 1.0) == n * D  # alpha = 0: the mean, no filter
    # the old module function still answers, with a FutureWarning, for one release
    from markovphase.sampling import analytic_flops

    with pytest.warns(FutureWarning, match="analytic_flops is deprecated"):
        assert analytic_flops(dens[None], n, 0.5) == dens[None].flops(n, 0.5)


def _gff_config(n_train=300, n_samples=150, presets=("all-global", "all-local"), steps=6,
                gap_radii=(), gap_times=(0.3, 0.6), n_global_repeats=0, repeat_schedules=(),
                sample_random_state=None):
    """The small linear-denoiser experiment on a 6x6 free field used below."""
    from markovphase import experiment as ex

    return ex.ExperimentConfig(
        data=ex.DataConfig("gaussian-field", {"shape": (6, 6), "mass": 1.0, "n_samples": 900},
                           n_train, n_samples),
        denoisers=ex.DenoiserConfig("linear"),
        schedules=ex.ScheduleConfig(radius=1, window=(0.3, 0.7), presets=presets),
        derivation=ex.DerivationConfig(derive=False, gap_radii=gap_radii, gap_times=gap_times),
        sampler=ex.SamplerConfig(steps=steps),
        repeats=ex.RepeatConfig(n_global_repeats, repeat_schedules, sample_random_state),
        random_state=0)


def test_global_repeats_measure_the_same_distribution_spread():
    from markovphase import load_dataset
    from markovphase.experiment import run_experiment

    params = {"shape": (6, 6), "mass": 1.0, "n_samples": 900}
    res = run_experiment(_gff_config(n_global_repeats=2))
    m = res["metrics"]
    assert set(m.schedule) == {"all-global", "all-local", "all-global#2", "all-global#3",
                               "held-out-real#2"}
    assert set(res["summary"].schedule) == {"all-global", "all-local"}  # costs: presets only
    # independent starting noise: the repeats are new draws of the same sampler
    a, b = res["samples"]["all-global"], res["samples"]["all-global#2"]
    assert a.shape == b.shape and not np.allclose(a, b)
    # the second real set is the next n_samples rows of the same permutation
    ds = load_dataset("gaussian-field", **params)
    idx = np.random.default_rng(0).permutation(len(ds.X))
    X2 = ds.X[idx[300 + 2 * 150:300 + 3 * 150]]
    row = m[(m.schedule == "held-out-real#2") & (m.metric == "covariance_frobenius")].iloc[0]
    expected = covariance_error(X2, ds.covariance, statistic="frobenius", n_null=50)["stat"]
    assert row.generated == pytest.approx(expected)


def test_sample_seed_and_paired_repeats_redraw_samples_from_the_same_networks():
    from markovphase.experiment import run_experiment

    kw = dict(n_samples=120, presets=("all-global",), n_global_repeats=1, gap_radii=(1,))
    base = run_experiment(_gff_config(**kw))
    same = run_experiment(_gff_config(sample_random_state=0, **kw))
    fresh = run_experiment(_gff_config(sample_random_state=7, **kw))
    np.testing.assert_array_equal(base["samples"]["all-global"], same["samples"]["all-global"])
    # the split, the fitted denoisers and the gap table do not depend on the sample seed
    pd.testing.assert_frame_equal(base["gap"], fresh["gap"])
    np.testing.assert_array_equal(base["held_out"], fresh["held_out"])
    # the samples do: seed 7 for the set, 7 + 1 for its repeat
    assert not np.allclose(base["samples"]["all-global"], fresh["samples"]["all-global"])
    next_seed = run_experiment(_gff_config(sample_random_state=8, **{
        **kw, "n_global_repeats": 0, "presets": ("all-global", "all-local")}))
    np.testing.assert_array_equal(fresh["samples"]["all-global#2"],
                                  next_seed["samples"]["all-global"])
    # repeated schedules are paired with the all-global repeats: same seeds
    paired = run_experiment(_gff_config(sample_random_state=7, repeat_schedules=["all-local"],
                                        **{**kw, "presets": ("all-global", "all-local")}))
    assert {"all-local#2", "all-global#2"} <= set(paired["metrics"].schedule)
    assert "all-local#3" not in set(paired["metrics"].schedule)
    np.testing.assert_array_equal(paired["samples"]["all-local#2"],
                                  next_seed["samples"]["all-local"])
    with pytest.raises(ValueError, match=r"repeat_schedules=\['derived'\].*all-local"):
        run_experiment(_gff_config(repeat_schedules=["derived"],
                                   **{**kw, "presets": ("all-global", "all-local")}))


def test_the_old_flat_keywords_still_run_the_same_experiment():
    """markovphase 0.1's run_experiment(dataset, params, **keywords) warns and gives the same
    result as the config for one release."""
    from markovphase import sample_cli
    from markovphase.experiment import ExperimentConfig, gap_schedule, run_experiment

    params = {"shape": (6, 6), "mass": 1.0, "n_samples": 900}
    flat = dict(n_train=300, n_samples=120, radius=1, window=(0.3, 0.7),
                presets=("all-global",), derive=False, denoiser="linear", steps=6,
                n_global_repeats=1, gap_radii=(1,), gap_times=(0.3, 0.6), random_state=0)
    with pytest.warns(FutureWarning, match="sample_cli.run_experiment is deprecated"):
        old = sample_cli.run_experiment("gaussian-field", params, **flat)
    config = ExperimentConfig.from_flat(dataset="gaussian-field", dataset_params=params, **flat)
    assert config == _gff_config(n_samples=120, presets=("all-global",), n_global_repeats=1,
                                 gap_radii=(1,))
    new = run_experiment(config)
    for name, X in new["samples"].items():
        np.testing.assert_array_equal(old["samples"][name], X)
    pd.testing.assert_frame_equal(old["gap"], new["gap"])
    with pytest.warns(FutureWarning, match="sample_cli.gap_schedule has moved"):
        assert sample_cli.gap_schedule is gap_schedule
    with pytest.raises(TypeError, match="unknown experiment setting 'bogus'"):
        ExperimentConfig.from_flat(bogus=1)


def test_local_only_network_parameters_skip_the_global_network():
    from markovphase.experiment import DenoiserConfig, fit_denoisers
    from markovphase.lattice import Lattice

    X = np.random.default_rng(0).standard_normal((60, 36))
    cfg = DenoiserConfig("network", {"epochs": 1, "width": 4, "depth": 1, "position_channels": 2},
                         center=True)
    g, loc, _ = fit_denoisers(cfg, [1], X, Lattice((6, 6)))
    assert loc[1].estimator_.network_.position.shape == (2, 6, 6)
    assert type(g.estimator_).__name__ == "GlobalDenoiser"
    assert loc[1].denoise(X[:3], 0.5).shape == (3, 36)


def test_model_dir_caches_trained_networks_and_global_overrides(tmp_path):
    from markovphase.experiment import DenoiserConfig, fit_denoisers
    from markovphase.lattice import Lattice

    X = np.random.default_rng(0).random((80, 36))
    params = {"epochs": 2, "width": 4, "depth": 1, "position_channels": 2}

    def fit(global_params, kind="network", model_dir=tmp_path):
        cfg = DenoiserConfig(kind, params if kind == "network" else {}, global_params,
                             center=kind == "network", model_dir=model_dir)
        return fit_denoisers(cfg, [1], X, Lattice((6, 6)), covariance=np.eye(36))

    g, loc, _ = fit({"width": 6})
    # the override reaches the global network only
    assert g.estimator_.width == 6 and loc[1].estimator_.width == 4
    files = sorted(p.name for p in tmp_path.iterdir())
    assert [f.split("-")[0] for f in files] == ["global", "global", "r1", "r1"]
    assert sum(f.endswith(".pt") for f in files) == 2
    # a second run loads the same weights and centring mean: identical outputs
    g2, loc2, _ = fit({"width": 6})
    Y = X[:5] * 0.5 + 0.1
    np.testing.assert_array_equal(g2.denoise(Y, 0.4), g.denoise(Y, 0.4))
    np.testing.assert_array_equal(loc2[1].denoise(Y, 0.7), loc[1].denoise(Y, 0.7))
    assert len(list(tmp_path.iterdir())) == 4
    # a changed parameter or changed rows trains afresh under a new name
    fit({"width": 5})
    assert len(list(tmp_path.glob("global-*.pt"))) == 2
    with pytest.raises(ValueError, match="model_dir"):
        fit(None, kind="linear")


def test_gap_schedule_picks_the_smallest_radius_within_tolerance():
    import pandas as pd

    from markovphase.experiment import gap_schedule

    rel = {  # t: (rel_gap r=1, rel_gap r=3)
        0.1: (0.02, 0.01), 0.3: (0.30, 0.08), 0.5: (0.90, 0.40), 0.7: (0.50, 0.12),
        0.9: (0.04, 0.02)}
    table = pd.DataFrame([{"t": t, "r": r, "rel_gap": g[i]} for t, g in rel.items()
                          for i, r in enumerate((1, 3))])
    s = gap_schedule(table, 0.10)
    # r(0.1) = 1, r(0.3) = 3, r(0.5) = r(0.7) = global, r(0.9) = 1; between scanned times
    # the more demanding neighbour ("conservative"), the end values extend to 0 and 1
    assert [s.radius_at(t) for t in (0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 0.9, 1.0)] == \
        [1, 3, 3, None, None, None, 1, 1]
    assert s.metadata["tolerance"] == 0.10 and s.metadata["rel_gap"][3][2] == 0.40
    loose = gap_schedule(table, 0.5)
    # at 0.5: r=1 (0.90) fails, r=3 (0.40) passes; elsewhere r=1 passes
    assert [loose.radius_at(t) for t in (0.2, 0.4, 0.6, 0.8)] == [1, 3, 3, 1]
    with pytest.raises(ValueError, match="gap_tolerance=-0.1"):
        gap_schedule(table, -0.1)
    # the same rule on another column: a measure that flags the high-noise end
    table["rel_explained"] = [0.0, 0.0, 0.05, 0.01, 0.2, 0.1, 0.5, 0.3, 0.6, 0.4]
    ex = gap_schedule(table, 0.10, measure="rel_explained")
    # r(0.1) = r(0.3) = 1, r(0.5) = 3, global from 0.7 on, up to t = 1
    assert [ex.radius_at(t) for t in (0.05, 0.2, 0.4, 0.6, 0.8, 1.0)] == \
        [1, 1, 3, None, None, None]
    assert ex.metadata["measure"] == "rel_explained"
    with pytest.raises(ValueError, match="measure='mse'"):
        gap_schedule(table, 0.1, measure="mse")
    with pytest.raises(ValueError, match="needs denoiser_gap"):  # no grid, no weighted column
        gap_schedule(table, 0.1, measure="weighted_gap")


def test_derived_schedule_on_the_weighted_criterion_uses_the_runs_sampler_grid():
    """derivation.criterion="weighted": the derived schedule is the scan's weighted
    schedule on the time grid this run samples with; a bad criterion fails first."""
    from dataclasses import replace

    from markovphase import experiment as ex

    base = _gff_config(presets=("all-global",), steps=8)
    scan = {"cmi": "gaussian", "radii": (1, 2), "times": (0.1, 0.3, 0.5, 0.7, 0.9)}
    cfg = replace(base, derivation=ex.DerivationConfig(derive=True, scan_params=scan,
                                                       tolerance=2e-3, criterion="weighted"),
                  sampler=ex.SamplerConfig(steps=8, time_spacing="cubic"))
    res = ex.run_experiment(cfg)
    got = res["schedules"]["derived"]
    expected = LocalitySchedule.from_scan(res["scan"], 2e-3, max_radius=2,
                                          allowed_radii=[1, 2], criterion="weighted",
                                          grid=time_grid(8, "cubic"))
    assert got.intervals == expected.intervals and got.metadata["criterion"] == "weighted"
    # another grid gives another schedule from the same scan: the grid is the run's own
    uniform = LocalitySchedule.from_scan(res["scan"], 2e-3, max_radius=2, allowed_radii=[1, 2],
                                         criterion="weighted", grid=time_grid(8))
    assert uniform.intervals != got.intervals
    with pytest.raises(ValueError, match="criterion='excess'"):
        ex.run_experiment(replace(cfg, derivation=replace(cfg.derivation, criterion="excess")))


def _budget_table(gaps, prior=2.0):
    """A denoiser_gap-like table: ``gaps`` maps radius -> {t: relative excess}."""
    import pandas as pd

    return pd.DataFrame([{"t": t, "r": r, "gap": g * prior, "prior_mse": prior}
                         for r, by_t in gaps.items() for t, g in by_t.items()])


def _budget_excess(s, table, grid, path, accumulate="coherent"):
    """E^2 recomputed from what the sampler will use: the radius in force at each grid
    point it calls (Heun: every point but t = 0), the table interpolated in t."""
    from markovphase.sampling import step_coefficients

    total = 0.0
    for t, c in zip(grid[:-1], step_coefficients(path, grid, grid[:-1]), strict=True):
        r = s.radius_at(float(t))
        if r is None:
            continue
        tab = table[table.r == r].sort_values("t")
        g = max(float(np.interp(t, tab.t, tab.gap / tab.prior_mse)), 0.0)
        total += c * np.sqrt(g) if accumulate == "coherent" else c**2 * g
    return total**2 if accumulate == "coherent" else total


def test_budget_schedule_bounds_the_whole_trajectory_at_the_least_cost():
    """E = sum_j c_j sqrt(g_j(r_j)) over the points the sampler calls, E^2 <= budget; the
    cost is what a brute-force search over every assignment finds on a small grid."""
    import itertools

    from markovphase.diffusion import resolve_path
    from markovphase.experiment import budget_schedule
    from markovphase.experiment.gap import _grid_units

    path, grid = resolve_path("linear"), time_grid(4, "cubic")
    table = _budget_table({1: {0.0: 0.02, 0.5: 0.3, 1.0: 0.01},
                           3: {0.0: 0.001, 0.5: 0.02, 1.0: 0.0}})
    costs = {None: 1.0, 1: 0.1, 3: 0.3}
    units, calls = _grid_units(grid, "heun")
    assert [list(u) for u in units] == [[0, 1], [2], [3], [4]]
    np.testing.assert_array_equal(calls, [1, 2, 2, 2, 0])  # 7 Heun calls for 4 steps
    for budget in (0.0, 1e-4, 1e-3, 4e-3, 1e-2, 0.1, 10.0):
        s = budget_schedule(table, budget, grid, path, costs)
        e2 = _budget_excess(s, table, grid, path)
        assert e2 <= budget * (1 + 1e-9)
        assert s.metadata["excess"] == pytest.approx(e2, rel=1e-9, abs=1e-15)

        def cost_of(radius_at):
            return sum(calls[j] * costs[radius_at(grid[j])] for j in range(len(grid)))

        best = np.inf
        for pick in itertools.product([None, 1, 3], repeat=3):  # intervals holding calls
            rows = [(grid[1], 1.0, pick[0]), (grid[2], grid[1], pick[1]),
                    (grid[3], grid[2], pick[2]), (0.0, grid[3], pick[2])]
            cand = LocalitySchedule(rows)
            if _budget_excess(cand, table, grid, path) <= budget * (1 + 1e-9):
                best = min(best, cost_of(cand.radius_at))
        assert cost_of(s.radius_at) == pytest.approx(best), budget
        assert s.metadata["cost_vs_all_global"] == pytest.approx(best / 7)
    # no budget: global wherever a radius has an excess (r=3 is exact only at t=1, whose
    # interval also holds t_1); a huge one: the cheapest radius everywhere
    assert budget_schedule(table, 0.0, grid, path, costs).intervals == ((0.0, 1.0, None),)
    assert budget_schedule(table, 10.0, grid, path, costs).intervals == ((0.0, 1.0, 1),)


def test_budget_schedule_independent_sums_the_weighted_gaps():
    """accumulate="independent": E^2 = sum_j weighted_gap_j, a looser rule than the
    coherent one, so at one budget it is never more expensive."""
    from markovphase.diffusion import resolve_path
    from markovphase.experiment import budget_schedule

    path, grid = resolve_path("linear"), time_grid(10, "cubic")
    table = _budget_table({1: {0.05: 0.01, 0.5: 0.2, 0.95: 0.02},
                           2: {0.05: 0.002, 0.5: 0.05, 0.95: 0.004}})
    costs = {None: 1.0, 1: 0.05, 2: 0.12}
    for budget in (1e-4, 1e-3, 1e-2):
        ind = budget_schedule(table, budget, grid, path, costs, accumulate="independent")
        coh = budget_schedule(table, budget, grid, path, costs)
        assert _budget_excess(ind, table, grid, path, "independent") <= budget * (1 + 1e-9)
        assert ind.metadata["cost_vs_all_global"] <= coh.metadata["cost_vs_all_global"] + 1e-12
    with pytest.raises(ValueError, match="accumulate='sum'"):
        budget_schedule(table, 1e-3, grid, path, costs, accumulate="sum")
    with pytest.raises(ValueError, match="gap_budget=-1"):
        budget_schedule(table, -1, grid, path, costs)
    with pytest.raises(ValueError, match="key None"):
        budget_schedule(table, 1e-3, grid, path, {1: 0.1})


def test_sample_cli_budget_schedule_costs_what_the_sampler_counts(tmp_path):
    """--gap-budget: the schedule's predicted cost is the sampler's own FLOP count, and
    its excess is within the budget; a budget without --gap-radii fails before work."""
    import json

    from click.testing import CliRunner

    from markovphase.cli import get_cli

    out = tmp_path / "report"
    args = ["sample", "--dataset", "gaussian-field", "--data", "shape=6,6", "--data", "mass=1.0",
            "--data", "n_samples=600", "--n-train", "300", "--n-samples", "100",
            "--preset", "all-global", "--no-derive", "--denoiser", "linear",
            "--gap-radii", "1,2", "--gap-times", "0.05:0.95:0.15", "--gap-budget", "1e-3,0.05",
            "--time-spacing", "cubic", "--steps", "8", "--out", str(out)]
    res = CliRunner().invoke(get_cli(), args)
    assert res.exit_code == 0, res.output
    summary = {r["schedule"]: r for r in json.loads((out / "result.json").read_text())["summary"]}
    for name in ("derived-budget@0.001", "derived-budget@0.05"):
        s = LocalitySchedule.from_json(out / "schedules" / f"{name}.json")
        assert s.metadata["excess"] <= s.metadata["budget"]
        assert summary[name]["flops_vs_all_global"] == pytest.approx(
            s.metadata["cost_vs_all_global"], rel=1e-9)
    assert (summary["derived-budget@0.05"]["flops_vs_all_global"]
            < summary["derived-budget@0.001"]["flops_vs_all_global"] < 1)
    bad = CliRunner().invoke(get_cli(), [a for a in args if a not in ("--gap-radii", "1,2")]
                             + ["--out", str(tmp_path / "bad")])
    assert bad.exit_code != 0 and "needs gap_radii" in bad.output
    assert "Traceback" not in bad.output
    nan = CliRunner().invoke(get_cli(), [*args[:-2], "--gap-budget", "nan",
                                         "--out", str(tmp_path / "nan")])
    assert nan.exit_code != 0 and "gap_budget" in nan.output
