"""Issue 13, "nothing lost, nothing silent": every bad input of the issue's scenarios, through
the command line (click's CliRunner, in process) and the API.

Each bad input gives exit code != 0 and exactly one ``Error:`` line naming the problem (no
traceback), or a ``ValueError``/``TypeError`` naming the parameter; good input gives a
correct result. Resuming, atomic files and the output folder are in ``test_resume.py``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import markovphase as mp
from markovphase import KNNCMI, GaussianCMI
from markovphase.cli import get_cli
from markovphase.datasets import load_dataset

pytestmark = pytest.mark.usefixtures("fresh_registry")

FAST = ["--times", "0.3,0.6", "-q"]


def run(*args, cwd=None):
    """Invoke ``markovphase ARGS`` in process; returns (exit code, output, Error lines)."""
    result = CliRunner().invoke(get_cli(), [str(a) for a in args], prog_name="markovphase")
    out = result.output
    errors = [line for line in out.splitlines() if line.startswith("Error")]
    return result.exit_code, out, errors, result


def assert_one_error(args, *needles):
    """``markovphase ARGS`` fails with one ``Error:`` line holding every needle."""
    code, out, errors, result = run(*args)
    assert code != 0, out
    assert "Traceback" not in out and not isinstance(result.exception, (KeyError, IndexError,
                                                                        AttributeError)), out
    assert len(errors) == 1, out
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


@pytest.fixture
def digits():
    return load_dataset("digits")


@pytest.fixture
def npz(tmp_path):
    def write(X, name="data.npz", **extra):
        path = tmp_path / name
        np.savez(path, X=X, **extra)
        return path
    return write


# -- silent wrong results -------------------------------------------------------------------
def test_one_sample_is_refused_not_reported_as_zero_cmi(tmp_path, npz, digits):
    err = assert_one_error(["scan", "--max-samples", "1", "--out", tmp_path / "a", *FAST],
                           "1 sample", "at least 3")
    assert "GaussianCMI" in err
    assert not (tmp_path / "a" / "results.json").exists()
    path = npz(np.random.default_rng(0).normal(size=(1, 64)))
    assert_one_error(["scan", "--dataset", "npz", "--path", path, "--lattice-shape", "8,8",
                      "--out", tmp_path / "b", *FAST], "1 sample")
    with pytest.raises(ValueError, match="X has 1 sample"):
        mp.MarkovProbe(lattice_shape=(8, 8), t=0.3).fit(digits.X[:1])
    with pytest.raises(ValueError, match="X has 1 sample"):
        mp.PhaseScan(lattice_shape=(8, 8), times=[0.3]).fit(digits.X[:1])


@pytest.mark.parametrize(("cmi", "n", "need"), [("gaussian", 2, 3), (KNNCMI(k=5), 5, 6),
                                                ("mixture", 9, 10)])
def test_fewer_samples_than_the_estimator_needs_are_named(digits, cmi, n, need):
    with pytest.raises(ValueError, match=f"X has {n} sample.*at least {need}"):
        mp.MarkovProbe(lattice_shape=(8, 8), t=0.3, cmi=cmi).fit(digits.X[:n])


def test_the_minimum_sample_count_gives_a_number(digits):
    probe = mp.MarkovProbe(lattice_shape=(8, 8), radii=[1], t=0.5, cmi=KNNCMI(k=3),
                           random_state=0).fit(digits.X[:4] + 0.01 * np.arange(64))
    assert np.isfinite(probe.cmi_).all()


def test_huge_values_are_refused_not_overflowed_to_zero(tmp_path, npz, digits):
    X = digits.X[:300] * 1e200
    with pytest.raises(ValueError, match=r"values up to 1e\+200.*divide X"):
        mp.MarkovProbe(lattice_shape=(8, 8), t=0.3).fit(X)
    with pytest.raises(ValueError, match="A has values up to"):
        GaussianCMI().estimate(X[:, 27:28], X[:, 28:30], X[:, 35:37])
    assert_one_error(["scan", "--dataset", "npz", "--path", npz(X), "--lattice-shape", "8,8",
                      "--out", tmp_path / "o", *FAST], "values up to 1e+200")
    # large but safe values give the same CMI as the data (t = 0: scale-free)
    kw = dict(lattice_shape=(8, 8), radii=[1, 2], t=0.0, random_state=0,
              cmi=GaussianCMI(drop_constant=True))
    big = mp.MarkovProbe(**kw).fit(digits.X * 1e90).cmi_
    np.testing.assert_allclose(big, mp.MarkovProbe(**kw).fit(digits.X).cmi_, rtol=1e-6,
                               atol=1e-9)


@pytest.mark.parametrize("bad", ["a", float("nan"), float("inf"), -0.5, True, None])
def test_window_threshold_must_be_a_finite_real(digits, bad):
    with pytest.raises((ValueError, TypeError), match="window_threshold=.*finite real"):
        mp.PhaseScan(lattice_shape=(8, 8), times=[0.2, 0.5], window_threshold=bad
                     ).fit(digits.X[:300])


@pytest.mark.parametrize("bad", ["nan", "inf", "-1"])
def test_window_threshold_on_the_command_line(tmp_path, bad):
    assert_one_error(["scan", "--window-threshold", bad, "--out", tmp_path, *FAST],
                     "window_threshold=", "finite real")


@pytest.mark.parametrize("bad", [True, np.True_, "0.3", None, [0.1, True]])
def test_a_bool_or_text_is_not_a_time(digits, bad):
    with pytest.raises(TypeError, match="is not a time"):
        mp.MarkovProbe(lattice_shape=(8, 8), t=bad).fit(digits.X[:300])
    with pytest.raises(TypeError, match="is not a time"):
        mp.ForwardDiffusion(t=bad).fit_transform(digits.X[:10])
    with pytest.raises(TypeError, match="times=.*not booleans"):
        mp.PhaseScan(lattice_shape=(8, 8), times=[0.1, bad]).fit(digits.X[:300])


# -- tracebacks instead of one line -----------------------------------------------------------
@pytest.mark.parametrize(("opts", "needles"), [
    (["--site", "50,50"], ["site=(50, 50)", "outside the lattice"]),
    (["--site", "1,2,3"], ["site"]),
    (["--patch", "30"], ["patch=30"]),
    (["--max-samples", "-5"], ["--max-samples", "-5"]),
    (["--max-samples", "0"], ["--max-samples"]),
    (["--radii", "1:9999"], ["radii=range(1, 10000)", "use radii < 6"]),
    (["--radii", "1:99999999"], ["radii=range(1, 100000000)", "use radii < 6"]),
    (["--radii", "0:3:0"], ["--radii", "step > 0"]),
    (["--radii", "3,2"], ["increasing"]),
    (["--cmi", "knnn"], ["Did you mean 'knn'"]),
    (["--times", "0,2"], ["times"]),
    (["--bogus", "3"], ["--bogus"]),
    (["--jobs", "0"], ["n_jobs=0"]),
    (["--dataset", "gaussian-field", "--L", "2"], ["lattice (2, 2) is too small"]),
])
def test_bad_scan_options_are_one_short_line(tmp_path, opts, needles):
    err = assert_one_error(["scan", *FAST, *opts, "--out", tmp_path / "o"], *needles)
    assert len(err) < 300  # never every value of a long list
    assert not (tmp_path / "o" / "cache").exists()  # refused before anything was made


def test_radii_beyond_the_lattice_are_refused_at_once_in_the_api(digits):
    with pytest.raises(ValueError, match=r"radii=range\(1, 1000000000\) reach 999999999.*< 4"):
        mp.MarkovProbe(lattice_shape=(8, 8), radii=range(1, 10**9), t=0.3).fit(digits.X[:50])
    with pytest.raises(ValueError) as info:
        mp.PhaseScan(lattice_shape=(8, 8), radii=list(range(1, 5000)), times=[0.5]
                     ).fit(digits.X[:50])
    msg = str(info.value)
    assert "(4999 values)" in msg and "np.int64" not in msg and len(msg) < 200


def test_bad_calibrate_options_are_one_short_line(tmp_path):
    base = ["calibrate", "--cmi", "gaussian", "--case", "gaussian-field", "--out", tmp_path]
    err = assert_one_error([*base, "--radii", "1:99999999"], "radii=range(1, 100000000)",
                           "use radii < 13")
    assert len(err) < 200
    assert_one_error([*base, "--n-mc", "0"], "n_mc=0")
    assert_one_error([*base, "--times", "0,5"], "times=")


def test_missing_npz_key_is_one_line(tmp_path, npz):
    path = npz(np.random.default_rng(0).normal(size=(50, 64)))
    assert_one_error(["scan", "--dataset", "npz", "--path", path, "--key", "nope",
                      "--lattice-shape", "8,8", "--out", tmp_path / "o", *FAST],
                     "no array 'nope'", "['X']")
    with pytest.raises(KeyError, match="no array 'nope'"):  # still a KeyError in the API
        load_dataset("npz", path=path, key="nope")


def test_schedule_file_errors_name_the_file(tmp_path):
    out = tmp_path / "o"
    assert_one_error(["sample", "--schedule", "mine=123", "--out", out],
                     "--schedule", "mine=123", "'123'", "cannot be read")
    binary = tmp_path / "binary.json"
    binary.write_bytes(bytes(range(256)))
    assert_one_error(["sample", "--schedule", f"mine={binary}", "--out", out],
                     "binary.json", "not UTF-8")
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema": ')
    assert_one_error(["sample", "--schedule", f"mine={broken}", "--out", out],
                     "broken.json", "not valid JSON")
    assert_one_error(["sample", "--schedule", "nameonly", "--out", out], "KEY=VALUE")
    assert not out.exists()  # refused before any work
    from markovphase.schedule import LocalitySchedule, ScheduleError

    with pytest.raises(ScheduleError, match="binary.json.*not UTF-8"):
        LocalitySchedule.from_json(binary)


def test_local_denoiser_load_of_garbage_never_suggests_unsafe_loading(tmp_path):
    garbage = tmp_path / "model.pt"
    for content in (b"garbage" * 10, b"", b"PK\x03\x04broken zip"):
        garbage.write_bytes(content)
        with pytest.raises(ValueError) as info:
            mp.LocalDenoiser.load(garbage)
        msg = str(info.value)
        assert "model.pt" in msg and "LocalDenoiser.save" in msg
        assert "weights_only" not in msg and "\n" not in msg
    import torch

    torch.save({"not": "a model"}, garbage)
    with pytest.raises(ValueError, match="missing"):
        mp.LocalDenoiser.load(garbage)
    with pytest.raises(FileNotFoundError):
        mp.LocalDenoiser.load(tmp_path / "absent.pt")


def test_local_denoiser_radius_beyond_the_lattice_names_the_largest(digits):
    with pytest.raises(ValueError, match="radius=100 .*use radius <= 7"):
        mp.LocalDenoiser(lattice_shape=(8, 8), radius=100, epochs=1).fit(digits.X[:20])
    with pytest.raises(ValueError, match="use radius <= 4"):
        mp.LocalDenoiser(lattice_shape=(8, 8), periodic=True, radius=5, epochs=1
                         ).fit(digits.X[:20])
    net = mp.LocalDenoiser(lattice_shape=(8, 8), radius=7, epochs=1, width=4,
                           random_state=0).fit(digits.X[:20])
    assert net.transform(digits.X[:3]).shape == (3, 64)


def test_unwritable_out_is_refused_before_the_scan(tmp_path, monkeypatch):
    from markovphase.scan import PhaseScan

    def never(*a, **k):
        raise AssertionError("the scan started although --out is not writable")

    monkeypatch.setattr(PhaseScan, "fit", never)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for cache in ("--cache", "--no-cache"):
        assert_one_error(["scan", "--out", blocker / "report", cache, *FAST],
                         "--out=", "a-file", "not a writable folder")
    assert_one_error(["sample", "--out", blocker / "s", "--n-train", "50"], "--out=", "a-file")


@pytest.mark.skipif(not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() == 0,
                    reason="root writes into read-only folders")
def test_read_only_out_is_refused(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        assert_one_error(["scan", "--out", ro, *FAST], "--out=", "not a writable folder")
    finally:
        ro.chmod(0o700)


# -- the first run and the report -------------------------------------------------------------
def test_the_default_scan_shows_a_transition_window(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, errors, _ = run("scan", "-q")
    assert code == 0 and not errors, out
    assert "dataset: macrostates (5000 samples x 144 features" in out
    line = next(ln for ln in out.splitlines() if ln.startswith("transition window:"))
    assert line.startswith("transition window: found, t in [")
    lo, hi = json.loads((tmp_path / "markovphase-output" / "results.json").read_text()
                        )["transition_window"]
    assert 0.3 <= lo < hi <= 0.9  # exact CMI at r = 1: ~0 for t <= 0.2, peak at t = 0.7


def test_the_report_names_the_dataset_or_says_it_was_not_given(tmp_path):
    ds = load_dataset("macrostates", n_samples=2000)
    scan = mp.PhaseScan(lattice_shape=ds.lattice_shape, periodic=True, radii=[1, 2],
                        times=[0.0, 0.3, 0.6, 0.9, 1.0], random_state=0).fit(ds.X)
    text = scan.write_report(tmp_path / "a")["summary.txt"].read_text()
    assert "dataset: ?" not in text
    assert "dataset: not named (pass dataset=) (2000 samples x 144 features" in text
    text = scan.write_report(tmp_path / "b", dataset=ds)["summary.txt"].read_text()
    assert "dataset: macrostates (2000 samples x 144 features" in text
    doc = json.loads((tmp_path / "b" / "results.json").read_text())
    assert doc["n_samples"] == 2000 and doc["dataset"]["name"] == "macrostates"


def test_macrostates_is_a_registered_dataset_with_its_exact_covariance():
    ds = load_dataset("macrostates", L=6, n_samples=4000, mu=2.0, random_state=1)
    assert ds.lattice_shape == (6, 6) and ds.periodic and ds.X.shape == (4000, 36)
    assert set(np.unique(ds.target)) == {-1, 1}
    # the mean of a sample is s * mu plus a small free-field fluctuation
    np.testing.assert_array_equal(np.sign(ds.X.mean(axis=1)), ds.target)
    emp = np.cov(ds.X, rowvar=False)
    assert np.abs(emp - ds.covariance).max() < 0.15
    assert "macrostates" in run("datasets")[1]
    with pytest.raises(ValueError, match="mu="):
        load_dataset("macrostates", mu=float("nan"))


def test_fitted_probe_and_scan_pickle_round_trip(digits):
    import pickle

    X = digits.X[:400]
    probe = mp.MarkovProbe(lattice_shape=(8, 8), radii=[1, 2], t=0.4, random_state=0).fit(X)
    back = pickle.loads(pickle.dumps(probe))
    np.testing.assert_array_equal(back.cmi_, probe.cmi_)
    np.testing.assert_array_equal(back.transform(X[:100]), probe.transform(X[:100]))
    scan = mp.PhaseScan(lattice_shape=(8, 8), radii=[1, 2], times=[0.2, 0.6],
                        random_state=0).fit(X)
    back = pickle.loads(pickle.dumps(scan))
    assert back.results_.equals(scan.results_)
    assert back.content_key_ == scan.content_key_ == scan.content_key(X)[0]


def test_the_default_data_has_an_exact_window_that_the_gaussian_scan_sees():
    """Exact I(A;C|B(1)) of the macrostates field: ~0 near the data, a peak mid-path."""
    from markovphase.calibration.gaussian import MacrostateMixture, gff_covariance
    from markovphase.lattice import Lattice

    ds = load_dataset("macrostates")
    reg = Lattice(ds.lattice_shape, 1, True).regions(None, 1)
    model = MacrostateMixture(gff_covariance(ds.lattice_shape, 0.5), np.ones(144))
    times = [0.1, 0.7, 0.9]
    exact = {t: model.cmi("linear", t, reg.A, reg.C, reg.B, n_mc=5000, rng=0) for t in times}
    assert exact[0.1][0] < 0.002 and exact[0.7][0] > 0.015 and exact[0.9][0] < exact[0.7][0]
    scan = mp.PhaseScan(lattice_shape=ds.lattice_shape, periodic=True, radii=[1, 2],
                        times=times, random_state=0).fit(ds.X)
    est = scan.cmi_table()[1]
    se = scan.cmi_table("stderr")[1]
    for t in times:
        assert abs(est[t] - exact[t][0]) < 3 * np.hypot(se[t], exact[t][1]) + 0.002, t
