"""``markovphase scan`` writes ``OUT/schedule.json``: the locality schedule of the scan (the
smallest radius within ``--schedule-tolerance`` at each time, global inside the transition
window), which ``markovphase sample --schedule NAME=PATH`` reads."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import markovphase as mp
from markovphase.cli import get_cli
from markovphase.schedule import LocalitySchedule

pytestmark = pytest.mark.usefixtures("fresh_registry")


def test_from_scan_makes_the_window_global_when_asked(tmp_path):
    ds = mp.load_dataset("macrostates", n_samples=3000)
    scan = mp.PhaseScan(lattice_shape=ds.lattice_shape, periodic=True, radii=[1, 2, 3],
                        times=np.round(np.arange(0, 1.01, 0.1), 1), cmi="gaussian",
                        random_state=0).fit(ds.X)
    lo, hi = scan.transition_window_
    plain = LocalitySchedule.from_scan(scan, 0.01)
    windowed = LocalitySchedule.from_scan(scan, 0.01, window_global=True)
    scanned = zip(plain.metadata["scan_times"], plain.metadata["scan_radii"],
                  windowed.metadata["scan_radii"], strict=True)
    for t, r_plain, r_windowed in scanned:
        assert r_windowed == (None if lo <= t <= hi else r_plain)  # global inside the window
    assert windowed.radius_at((lo + hi) / 2) is None
    assert windowed.metadata["window_global"] and windowed.metadata["tolerance"] == 0.01
    paths = scan.write_report(tmp_path)  # the library's report holds the same schedule
    assert LocalitySchedule.from_json(paths["schedule.json"]).intervals == windowed.intervals
    assert "schedule.json" not in scan.write_report(tmp_path / "none", schedule_tolerance=None)


def test_the_scan_command_writes_a_schedule_that_sample_reads(tmp_path):
    out = tmp_path / "R"
    runner = CliRunner()
    res = runner.invoke(get_cli(), ["scan", "-q", "--out", str(out),
                                    "--schedule-tolerance", "0.005"])
    assert res.exit_code == 0, res.output
    doc = json.loads((out / "schedule.json").read_text())
    sched = LocalitySchedule.from_json(out / "schedule.json")
    lo, hi = json.loads((out / "results.json").read_text())["transition_window"]
    assert doc["metadata"]["tolerance"] == 0.005
    assert sched.radius_at((lo + hi) / 2) is None  # global in the window
    assert sched.radius_at(0.0) is not None and sched.radius_at(1.0) is not None  # local ends
    assert "schedule.json" in res.output
    bad = runner.invoke(get_cli(), ["scan", "-q", "--out", str(tmp_path / "x"),
                                    "--schedule-tolerance", "-1"])
    assert bad.exit_code != 0 and "--schedule-tolerance" in bad.output


def test_step_coefficients_are_the_share_of_x0_hat_a_ddim_step_hands_on():
    from markovphase.diffusion import get_path
    from markovphase.sampling import step_coefficients, time_grid

    grid = time_grid(4)  # 1, 0.75, 0.5, 0.25, 0
    lin = get_path("linear")
    # linear path: x_s = (s/t) x_t + (1 - s/t) x0_hat, so c = (t - s)/t; the last step is 1
    np.testing.assert_allclose(step_coefficients(lin, grid, [0.9, 0.75, 0.3, 0.1, 0.0]),
                               [0.25, 1 / 3, 0.5, 1.0, 1.0])
    vp = get_path("cosine")
    t, s = 0.75, 0.5
    c = step_coefficients(vp, grid, [0.7])[0]  # 0.7 lies in the step [0.5, 0.75]
    a_t, s_t, a_s, s_s = vp.alpha(t), vp.sigma(t), vp.alpha(s), vp.sigma(s)
    # the DDIM update applied to x0_hat + 1 and to x0_hat differs by exactly c
    x_t, x0 = 0.3, 0.1
    step = lambda x0h: a_s * x0h + s_s * (x_t - a_t * x0h) / s_t  # noqa: E731
    assert step(x0 + 1.0) - step(x0) == pytest.approx(c)


def test_weighted_excess_is_the_gaussian_excess_posterior_variance():
    """For Gaussian data the CMI of the noised site fixes the excess posterior variance of
    the clean site, v_B - v_BC = sigma^4/alpha^2 (1 - e^{-2I}) / (alpha^2 u_BC + sigma^2);
    ``sampling_excess`` takes its upper bound (u_BC dropped), tight at high noise, times the
    step coefficient squared."""
    from types import SimpleNamespace

    import pandas as pd

    from markovphase.calibration import gaussian_cmi, gff_covariance
    from markovphase.diffusion import get_path
    from markovphase.sampling import step_coefficients, time_grid
    from markovphase.schedule_scan import sampling_excess

    lat = mp.Lattice((6, 6), periodic=True)
    cov0 = gff_covariance(lat.shape, 0.4)
    path = get_path("linear")

    def post_var(a, s, seen, target):
        """Variance of the clean ``target`` given the noised sites ``seen``."""
        S = a**2 * cov0[np.ix_(seen, seen)] + s**2 * np.eye(len(seen))
        k = a * cov0[target, seen]
        return cov0[target, target] - k @ np.linalg.solve(S, k)

    rows = []
    for t in (0.3, 0.6, 0.9):
        a, s = path.alpha(t), path.sigma(t)
        for r in (1, 2):
            reg = lat.regions(lat.center, r)
            A = reg.A[0]
            I = gaussian_cmi(path.covariance(cov0, t), reg.A, reg.C, reg.B)  # noqa: E741
            v_b = post_var(a, s, np.concatenate([reg.A, reg.B]), A)
            v_bc = post_var(a, s, np.concatenate([reg.A, reg.B, reg.C]), A)
            u_bc = post_var(a, s, np.concatenate([reg.B, reg.C]), A)
            assert v_b - v_bc == pytest.approx(
                s**4 / a**2 * -np.expm1(-2 * I) / (a**2 * u_bc + s**2), rel=1e-8)
            rows.append({"t": t, "r": r, "value": I, "stderr": 0.0, "exact_excess": v_b - v_bc})
    table = pd.DataFrame(rows)
    scan = SimpleNamespace(probe_name_="markov", results_=table, path_=path,
                           feature_variance_=float(np.diag(cov0).mean()))
    grid = time_grid(10)
    ex = sampling_excess(scan, grid)
    bound = ex.excess * scan.feature_variance_
    assert np.all(bound >= table.exact_excess - 1e-12)  # conservative
    hi = table.t == 0.9  # sigma^2/alpha^2 = 81 >> u_BC: the bound is within 2 %
    np.testing.assert_allclose(bound[hi], table.exact_excess[hi], rtol=0.02)
    np.testing.assert_allclose(ex.weighted, step_coefficients(path, grid, ex.t) ** 2 * ex.excess)
    # the stderr bound: 2 stderr more CMI, never a negative one
    noisy = SimpleNamespace(**{**vars(scan), "results_": table.assign(value=-1.0, stderr=0.1)})
    assert np.all(sampling_excess(noisy, grid, n_stderr=0).excess == 0)
    with pytest.raises(ValueError, match="probe 'markov'"):
        sampling_excess(SimpleNamespace(**{**vars(scan), "probe_name_": "denoiser"}))
    with pytest.raises(ValueError, match="criterion='mse'"):
        LocalitySchedule.from_scan(scan, 0.1, criterion="mse")


def test_scan_schedule_then_sample_keeps_quality_at_lower_cost(tmp_path):
    """Issue 15's small version: ``scan`` (weighted criterion) -> ``schedule.json`` ->
    ``sample --schedule scan=...`` on an 8x8 free field with exact (Wiener) denoisers: fewer
    FLOPs than all-global and covariance errors within the spread of 11 all-global sets
    (paired seeds: |mean paired difference| <= sd of the all-global sets)."""
    import pandas as pd

    runner = CliRunner()
    R, S = tmp_path / "R", tmp_path / "S"
    res = runner.invoke(get_cli(), [
        "scan", "-q", "--dataset", "gaussian-field", "--shape", "8,8", "--mass", "0.3",
        "--radii", "1:3", "--out", str(R), "--schedule-criterion", "weighted",
        "--schedule-tolerance", "1e-4", "--schedule-steps", "10"])
    assert res.exit_code == 0, res.output
    sched = LocalitySchedule.from_json(R / "schedule.json")
    assert sched.metadata["criterion"] == "weighted"
    assert sched.radius_at(0.05) is not None and sched.uses_global  # local near the data
    res = runner.invoke(get_cli(), [
        "sample", "-q", "--dataset", "gaussian-field", "--data", "shape=8,8", "--data",
        "mass=0.3", "--schedule", f"scan={R / 'schedule.json'}", "--preset", "all-global",
        "--no-derive", "--denoiser", "linear", "--global-repeats", "10", "--repeat-schedule",
        "scan", "--steps", "10", "--n-train", "1000", "--n-samples", "400", "--out", str(S)])
    assert res.exit_code == 0, res.output
    summary = pd.read_csv(S / "summary.csv").set_index("schedule")
    assert summary.flops_vs_all_global["scan"] < 0.9
    m = pd.read_csv(S / "metrics.csv")
    for metric, g in m.groupby("metric"):
        sets = g.assign(base=g.schedule.str.split("#").str[0],
                        k=g.schedule.str.split("#").str[1].fillna("1"))
        glob = sets[sets.base == "all-global"].set_index("k").generated
        mine = sets[sets.base == "scan"].set_index("k").generated
        assert len(glob) == len(mine) == 11
        diff = (mine - glob.loc[mine.index]).mean()
        assert abs(diff) <= glob.std(), (metric, diff, glob.std())
        assert glob.min() <= mine.mean() <= glob.max(), metric
