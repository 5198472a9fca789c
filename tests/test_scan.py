import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from exact_gaussian import exact_cmi, linear_path_cov

from markovphase import Lattice, PhaseScan
from markovphase.datasets.gaussian_field import gaussian_field_covariance, sample_gaussian_field
from markovphase.scan import find_transition_window

SHAPE, MASS = (8, 8), 0.1
TIMES = [0.0, 0.25, 0.5, 0.75, 1.0]


@pytest.fixture(scope="module")
def X():
    return sample_gaussian_field(SHAPE, MASS, 8000, random_state=2).reshape(8000, -1)


def test_scan_table_matches_exact_gaussian(X):
    scan = PhaseScan(lattice_shape=SHAPE, periodic=True, times=TIMES, radii=[1, 2],
                     cmi="gaussian", random_state=0).fit(X)
    res = scan.results_
    assert list(res.columns[:6]) == ["t", "snr", "log_snr", "r", "value", "stderr"]
    assert len(res) == len(TIMES) * 2
    cov0, lat = gaussian_field_covariance(SHAPE, MASS), Lattice(SHAPE, periodic=True)
    for t in TIMES[1:-1]:
        for r in (1, 2):
            g = lat.regions(None, r)
            row = res[(res.t == t) & (res.r == r)].iloc[0]
            exact = exact_cmi(linear_path_cov(cov0, t), g.A, g.C, g.B)
            assert abs(row.value - exact) < 4 * row.stderr + 1e-3, (t, r, row.value, exact)
    # the snr column is the linear path's ((1 - t) / t)^2
    assert res[res.t == 0.5].snr.iloc[0] == pytest.approx(1.0)
    assert scan.cmi_table().shape == (5, 2)
    assert set(scan.markov_length_.columns) >= {"t", "xi", "xi_low", "xi_high", "status"}


def test_transition_window_of_a_bump_and_of_a_monotone_curve():
    t = np.linspace(0, 1, 11)
    bump = 0.02 + 0.15 * np.exp(-((t - 0.3) / 0.15) ** 2)
    w = find_transition_window(t, bump, np.full(11, 0.005))
    assert w["peak_time"] == pytest.approx(0.3)
    assert w["window"] == (pytest.approx(0.2), pytest.approx(0.4))
    mono = 0.1 * np.exp(-5 * t)
    assert find_transition_window(t, mono, np.full(11, 0.001))["window"] is None
    # a bump that is not significant against its stderr is no window
    assert find_transition_window(t, bump, np.full(11, 0.2))["by_cmi"] is None
    # Markov-length criterion alone
    xi = np.array([0.5, 0.5, 0.6, 3.0, 4.0, 0.7, 0.5, 0.5, 0.5, 0.5, 0.5])
    w = find_transition_window(t, mono, np.full(11, 0.001), xi=xi)
    assert w["by_xi"] == (pytest.approx(0.3), pytest.approx(0.4))


def test_cache_resumes_and_parameters_invalidate(X, tmp_path):
    kw = dict(lattice_shape=SHAPE, periodic=True, times=TIMES, radii=[1], random_state=0,
              cache_dir=tmp_path)
    first = PhaseScan(**kw).fit(X)
    assert (first.n_cells_computed_, first.n_cells_cached_) == (5, 0)
    again = PhaseScan(**kw).fit(X)
    assert (again.n_cells_computed_, again.n_cells_cached_) == (0, 5)
    assert again.results_.equals(first.results_)
    changed = PhaseScan(**{**kw, "radii": [1, 2]}).fit(X)
    assert changed.n_cells_computed_ == 5 and changed.cache_path_ != first.cache_path_
    other_seed = PhaseScan(**{**kw, "random_state": 1}).fit(X)
    assert other_seed.n_cells_computed_ == 5


SLOW_PLUGIN = textwrap.dedent('''
    import os, time
    import numpy as np
    from markovphase.cmi.base import CMIEstimator, CMIResult

    class SlowCMI(CMIEstimator):
        """Squared correlation of the first columns; sleeps and logs each call."""
        def _evaluate(self, A, C, B):
            time.sleep(float(os.environ.get("SLOW_CMI_DELAY", "0")))
            with open(os.environ["SLOW_CMI_LOG"], "a") as fh:
                fh.write("call\\n")
            v = float(np.corrcoef(A[:, 0], C[:, 0])[0, 1] ** 2)
            return CMIResult(v, 0.01, None, len(A))
''')

RUN_SCAN = textwrap.dedent('''
    import sys
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    from slowcmi import SlowCMI
    from markovphase import PhaseScan
    X = np.load(sys.argv[2])
    PhaseScan(lattice_shape=(8, 8), times=[0, .2, .4, .6, .8, 1], radii=[1], cmi=SlowCMI,
              cache_dir=sys.argv[3], random_state=0).fit(X)
''')


def test_killed_scan_resumes_without_recomputing(X, tmp_path, monkeypatch):
    (tmp_path / "slowcmi.py").write_text(SLOW_PLUGIN)
    (tmp_path / "run_scan.py").write_text(RUN_SCAN)
    np.save(tmp_path / "X.npy", X[:2000])
    cache, log = tmp_path / "cache", tmp_path / "calls.log"
    env = {**os.environ, "SLOW_CMI_DELAY": "0.4", "SLOW_CMI_LOG": str(log)}
    proc = subprocess.Popen([sys.executable, tmp_path / "run_scan.py", tmp_path,
                             tmp_path / "X.npy", cache], env=env)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(cache.glob("*/cells/t=*.json"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = {p: p.stat().st_mtime_ns for p in cache.glob("*/cells/t=*.json")}
    assert 2 <= len(done) < 6, "the scan should have been killed mid-way"

    sys.path.insert(0, str(tmp_path))
    monkeypatch.setenv("SLOW_CMI_LOG", str(tmp_path / "resume.log"))
    from slowcmi import SlowCMI

    kw = dict(lattice_shape=(8, 8), times=[0, .2, .4, .6, .8, 1], radii=[1], cmi=SlowCMI,
              random_state=0)
    resumed = PhaseScan(**kw, cache_dir=cache).fit(X[:2000])
    assert resumed.n_cells_cached_ == len(done)
    assert resumed.n_cells_computed_ == 6 - len(done)
    # each computed cell evaluates one radius and I(A;BC): two calls per cell
    assert len((tmp_path / "resume.log").read_text().split()) == 2 * (6 - len(done))
    assert {p: p.stat().st_mtime_ns for p in done} == done  # finished cells untouched
    monkeypatch.setenv("SLOW_CMI_LOG", str(tmp_path / "fresh.log"))
    fresh = PhaseScan(**kw).fit(X[:2000])
    assert resumed.results_.equals(fresh.results_)
    sys.path.remove(str(tmp_path))


def test_parallel_and_dask_backends_agree(X):
    pytest.importorskip("distributed")
    import joblib
    from distributed import Client, LocalCluster

    kw = dict(lattice_shape=SHAPE, periodic=True, times=[0.2, 0.5, 0.8], radii=[1],
              random_state=0)
    serial = PhaseScan(**kw).fit(X[:3000])
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster):
        with joblib.parallel_config(backend="dask"):
            dask = PhaseScan(**kw, n_jobs=2).fit(X[:3000])
    loky = PhaseScan(**kw, n_jobs=2).fit(X[:3000])
    np.testing.assert_array_equal(serial.results_.value, dask.results_.value)
    np.testing.assert_array_equal(serial.results_.value, loky.results_.value)


def test_locality_radii(X):
    scan = PhaseScan(lattice_shape=SHAPE, periodic=True, times=[0.0, 0.5, 1.0], radii=[1, 2, 3],
                     random_state=0).fit(X[:4000])
    table = scan.locality_radii(tolerance=1.0)
    assert list(table.radius) == [1.0, 1.0, 1.0]
    assert np.isnan(scan.locality_radii(tolerance=-1.0).radius).all()


def test_probe_params_are_checked(X):
    with pytest.raises(ValueError, match="not parameters of probe"):
        PhaseScan(lattice_shape=SHAPE, times=[0.5], probe_params={"bogus": 1}).fit(X[:100])
    with pytest.raises(ValueError, match="times"):
        PhaseScan(lattice_shape=SHAPE, times=[0.5, 1.5]).fit(X[:100])


def test_cli_scan_writes_report_and_resumes(tmp_path):
    out = tmp_path / "report"
    cmd = [sys.executable, "-m", "markovphase", "scan", "--dataset", "gaussian-field",
           "--L", "8", "--n-samples", "3000", "--cmi", "gaussian", "--times", "0:1:0.5",
           "--radii", "1,2", "--out", str(out), "--quiet"]
    first = subprocess.run(cmd, capture_output=True, text=True, check=True)
    for name in ("results.csv", "results.json", "cmi_heatmap.png", "markov_length.png",
                 "summary.txt", "markov_length.csv"):
        assert (out / name).stat().st_size > 0, name
    doc = json.loads((out / "results.json").read_text())
    assert doc["estimator"] == "gaussian"
    assert doc["versions"]["markovphase"]
    assert doc["dataset"]["name"] == "gaussian-field"
    assert len(doc["results"]) == 6
    assert "3 computed, 0 from cache" in first.stdout
    second = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert "0 computed, 3 from cache" in second.stdout
    assert Path(out / "summary.txt").read_text().count("\n") > 5


def test_cli_scan_bad_input_is_named(tmp_path):
    run = lambda *a: subprocess.run([sys.executable, "-m", "markovphase", "scan", *a,  # noqa: E731
                                     "--out", str(tmp_path)], capture_output=True, text=True)
    r = run("--cmi", "knnn")
    assert r.returncode != 0 and "Did you mean 'knn'" in r.stderr
    r = run("--dataset", "digits", "--bogus", "3")
    assert r.returncode != 0 and "--bogus" in r.stderr
    r = run("--dataset", "digits", "--times", "0,2")
    assert r.returncode != 0 and "times" in r.stderr


def test_path_estimator_serves_every_time_in_one_run(tmp_path):
    """A CMI estimator with ``evaluate_path`` (neural) runs once for the whole scan."""
    from markovphase.cmi.neural import NeuralCMI

    X = sample_gaussian_field((6, 6), 0.3, 3000, random_state=0).reshape(3000, -1)
    kw = dict(lattice_shape=(6, 6), periodic=True, times=[0.3, 0.7], radii=[1, 2],
              cmi=NeuralCMI(max_steps=150, channels=4), random_state=0, cache_dir=tmp_path)
    scan = PhaseScan(**kw).fit(X)
    assert scan.n_cells_computed_ == 2
    res = scan.results_
    assert np.isfinite(res.value).all() and (res.stderr > 0).all()
    assert (res.n_samples < 3000).all()  # held-out rows, not the training rows
    again = PhaseScan(**kw).fit(X)
    assert (again.n_cells_computed_, again.n_cells_cached_) == (0, 2)
    np.testing.assert_array_equal(again.results_.value, res.value)
