"""Issue 13, nothing lost: path-mode scans cache every cell as it arrives and resume, damaged
cache cells are recomputed, report files are atomic, an output folder holds one scan, and
long jobs show progress on stderr (quiet with ``-q``).
"""

from __future__ import annotations

import errno
import json
import os
import pathlib
import socket
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from markovphase import MixtureCMI, PhaseScan
from markovphase.cli import get_cli
from markovphase.datasets import load_dataset
from markovphase.outdir import LOCK, MANIFEST, OutputDir, atomic_path
from markovphase.probes import Probe

pytestmark = pytest.mark.usefixtures("fresh_registry")


class PathProbe(Probe):
    """A path-mode probe whose cell at ``t`` depends only on ``X`` and ``t``.

    ``PathProbe.fail_after = k`` makes the next run raise after ``k`` cells (a kill
    midway); ``PathProbe.asked`` records the times each run was asked for.
    """

    fail_after = None
    asked: list = []

    def __init__(self, lattice_shape=None, radii=(1, 2), t=0.0, random_state=None):
        self.lattice_shape = lattice_shape
        self.radii = radii
        self.t = t
        self.random_state = random_state

    def supports_path(self):
        return True

    def _rows(self, X, t):
        return [{"r": int(r), "value": float(np.mean(X**2) * t / r + 0.1 * np.sin(9 * t)),
                 "stderr": 0.01} for r in self.radii]

    def fit(self, X, y=None):
        self.results_ = self._rows(np.asarray(X, float), float(self.t))
        return self

    def iter_path(self, X, times):
        PathProbe.asked.append([float(t) for t in times])
        for k, t in enumerate(times):
            if PathProbe.fail_after is not None and k >= PathProbe.fail_after:
                PathProbe.fail_after = None
                raise RuntimeError("killed midway")
            yield float(t), {"rows": self._rows(np.asarray(X, float), float(t))}


TIMES = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]


@pytest.fixture
def X():
    return np.random.default_rng(0).normal(size=(60, 25))


def test_a_killed_path_mode_scan_resumes_with_only_the_missing_times(X, tmp_path, capsys):
    kw = dict(lattice_shape=(5, 5), times=TIMES, probe=PathProbe(), random_state=0)
    full = PhaseScan(**kw).fit(X)
    PathProbe.asked, PathProbe.fail_after = [], 4
    with pytest.raises(RuntimeError, match="killed midway"):
        PhaseScan(cache_dir=tmp_path, **kw).fit(X)
    cells = list(tmp_path.glob("*/cells/*.json"))
    assert len(cells) == 4  # every cell finished before the kill is kept
    again = PhaseScan(cache_dir=tmp_path, verbose=1, **kw).fit(X)
    assert PathProbe.asked[-1] == TIMES[4:]  # only the missing times are asked for
    assert (again.n_cells_cached_, again.n_cells_computed_) == (4, 2)
    np.testing.assert_array_equal(again.results_.value, full.results_.value)
    err = capsys.readouterr().err
    assert "phase scan" in err and "6/6" in err  # a progress bar in path mode too
    PhaseScan(cache_dir=tmp_path, **kw).fit(X)
    assert capsys.readouterr().err == ""  # verbose=0: quiet


def test_a_path_probe_that_skips_a_time_is_an_error_but_keeps_the_rest(X, tmp_path):
    class Skipping(PathProbe):
        def iter_path(self, X, times):
            for t in list(times)[::2]:
                yield float(t), {"rows": self._rows(X, float(t))}

    with pytest.raises(ValueError, match=r"no cell for t=\[0.2, 0.6, 1.0\]"):
        PhaseScan(lattice_shape=(5, 5), times=TIMES, probe=Skipping(), cache_dir=tmp_path,
                  random_state=0).fit(X)
    assert len(list(tmp_path.glob("*/cells/*.json"))) == 3


def test_a_killed_mixture_scan_resumes_with_identical_results(tmp_path, monkeypatch):
    """MixtureCMI serves the path in one fit and hands back each time as it is done."""
    ds = load_dataset("macrostates", L=6, n_samples=1500)
    kw = dict(lattice_shape=(6, 6), periodic=True, times=[0.1, 0.3, 0.5, 0.7, 0.9],
              radii=[1, 2], cmi=MixtureCMI(n_components=2, covariance_type="full", n_mc=2000),
              random_state=0)
    full = PhaseScan(**kw).fit(ds.X)
    real = MixtureCMI.iter_path

    def dies_on_third(self, *a, **k):
        for i, item in enumerate(real(self, *a, **k)):
            if i == 2:
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(MixtureCMI, "iter_path", dies_on_third)
    with pytest.raises(KeyboardInterrupt):
        PhaseScan(cache_dir=tmp_path, **kw).fit(ds.X)
    monkeypatch.setattr(MixtureCMI, "iter_path", real)
    again = PhaseScan(cache_dir=tmp_path, **kw).fit(ds.X)
    assert (again.n_cells_cached_, again.n_cells_computed_) == (2, 3)
    np.testing.assert_allclose(again.results_.value, full.results_.value, rtol=0, atol=1e-12)


@pytest.mark.parametrize("bad", ['{"rows": 3}', "[]", '{"rows": [{"r": 1}]}', '"text"',
                                 '{"rows": [{"r": "x", "value": 1, "stderr": 0}]}',
                                 '{"rows": []}', '{"rows": [{"r": 1, "value": 0.1, "stderr": 0'])
def test_cache_cells_of_the_wrong_shape_are_recomputed(X, tmp_path, bad):
    kw = dict(lattice_shape=(5, 5), times=[0.2, 0.5, 0.8], radii=[1], cache_dir=tmp_path,
              random_state=0)
    first = PhaseScan(**kw).fit(X)
    cells = sorted(tmp_path.glob("*/cells/*.json"))
    cells[1].write_text(bad)
    again = PhaseScan(**kw).fit(X)
    assert (again.n_cells_cached_, again.n_cells_computed_) == (2, 1)
    np.testing.assert_array_equal(again.results_.value, first.results_.value)
    assert json.loads(cells[1].read_text())["rows"][0]["r"] == 1  # repaired


# -- atomic report files ---------------------------------------------------------------------
def _disk_full_on(monkeypatch, needle: str):
    real = pathlib.Path.write_text

    def write_text(self, data, *a, **k):
        if needle in self.name:
            real(self, data[: len(data) // 2], *a, **k)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data, *a, **k)

    monkeypatch.setattr(pathlib.Path, "write_text", write_text)


def test_report_files_are_written_atomically(X, tmp_path, monkeypatch):
    scan = PhaseScan(lattice_shape=(5, 5), times=[0.2, 0.5, 0.8], radii=[1],
                     random_state=0).fit(X)
    out = tmp_path / "report"
    scan.write_report(out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    _disk_full_on(monkeypatch, "results")
    with pytest.raises(OSError, match="No space left"):
        scan.write_report(out)
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert after["results.json"] == before["results.json"]  # the old file, complete
    json.loads(after["results.json"])
    assert not [n for n in after if n.startswith(".tmp")]
    with pytest.raises(KeyError), atomic_path(out / "x.txt") as tmp:
        tmp.write_text("half")
        raise KeyError("interrupted")
    assert not (out / "x.txt").exists() and not list(out.glob(".tmp*"))


def test_disk_full_at_the_report_loses_no_computed_cell(tmp_path, monkeypatch):
    out = tmp_path / "o"
    args = ["scan", "--dataset", "macrostates", "--n-samples", "800", "--L", "6",
            "--times", "0.2,0.5,0.8", "--out", str(out), "-q"]
    with monkeypatch.context() as m:
        _disk_full_on(m, "results")
        res = CliRunner().invoke(get_cli(), args)
    errors = [ln for ln in res.output.splitlines() if ln.startswith("Error")]
    assert res.exit_code != 0 and len(errors) == 1 and "No space left" in errors[0]
    assert not (out / LOCK).exists()  # the lock is released on errors
    res = CliRunner().invoke(get_cli(), args)
    assert res.exit_code == 0 and "0 computed, 3 from cache" in res.output


# -- one scan per output folder --------------------------------------------------------------
def _scan(out, *extra):
    args = ["scan", "--dataset", "macrostates", "--n-samples", "800", "--L", "6",
            "--times", "0.2,0.5,0.8", "--out", str(out), "-q", *extra]
    res = CliRunner().invoke(get_cli(), args)
    return res.exit_code, res.output


def test_a_different_scan_into_the_same_out_is_refused(tmp_path):
    out = tmp_path / "o"
    assert _scan(out)[0] == 0
    before = (out / "results.json").read_bytes()
    code, text = _scan(out, "--mu", "2.0")
    errors = [ln for ln in text.splitlines() if ln.startswith("Error")]
    assert code != 0 and len(errors) == 1
    assert "--out=" in errors[0] and "another scan" in errors[0] and "the data" in errors[0]
    assert "--force" in errors[0]
    assert (out / "results.json").read_bytes() == before
    code, text = _scan(out, "--times", "0.2,0.5")
    assert code != 0 and "differs in times" in text
    code, text = _scan(out)  # the same scan again resumes
    assert code == 0 and "0 computed, 3 from cache" in text
    code, text = _scan(out, "--mu", "2.0", "--force")
    assert code == 0 and "3 computed" in text
    assert json.loads((out / MANIFEST).read_text())["key"] != ""
    assert (out / "results.json").read_bytes() != before


def test_a_live_lock_refuses_and_a_stale_one_is_taken_over(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    host = socket.gethostname()
    (out / LOCK).write_text(json.dumps({"pid": os.getppid(), "host": host}))
    code, text = _scan(out)
    assert code != 0 and "in use by another markovphase process" in text
    assert f"pid {os.getppid()}" in text and LOCK in text
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (out / LOCK).write_text(json.dumps({"pid": dead.pid, "host": host}))
    code, text = _scan(out)
    assert code == 0, text
    assert not (out / LOCK).exists()


def test_a_failed_scan_leaves_the_folder_to_the_next_one(tmp_path):
    out = tmp_path / "o"
    code, text = _scan(out, "--cmi", "knn", "--cmi-param", "k=-3")  # fails in the first cell
    assert code != 0 and "k=-3" in text
    assert not (out / MANIFEST).exists() and not (out / LOCK).exists()
    code, text = _scan(out, "--cmi", "knn", "--cmi-param", "k=3")
    assert code == 0, text


def test_output_dir_api(tmp_path):
    with OutputDir(tmp_path / "d", "key-1", {"data": "a", "params": {"k": 1}}) as out:
        assert (tmp_path / "d" / LOCK).exists()
        out.commit()
    assert not (tmp_path / "d" / LOCK).exists()
    with pytest.raises(ValueError, match=r"out_dir=.*differs in the data, k\).*force=True"):
        with OutputDir(tmp_path / "d", "key-2", {"data": "b", "params": {"k": 2}}):
            pass
    with OutputDir(tmp_path / "d", "key-2", {"data": "b"}, force=True) as out:
        out.commit()
    assert json.loads((tmp_path / "d" / MANIFEST).read_text())["key"] == "key-2"


# -- progress on stderr ----------------------------------------------------------------------
def test_long_commands_show_progress_unless_quiet(tmp_path):
    base = ["scan", "--dataset", "macrostates", "--n-samples", "800", "--L", "6",
            "--times", "0.2,0.5,0.8", "--radii", "1", "--cmi", "mixture",
            "--cmi-param", "n_components=2", "--cmi-param", "n_mc=500"]
    loud = CliRunner().invoke(get_cli(), [*base, "--out", str(tmp_path / "a")])
    assert loud.exit_code == 0 and "phase scan" in loud.stderr and "3/3" in loud.stderr
    quiet = CliRunner().invoke(get_cli(), [*base, "--out", str(tmp_path / "b"), "-q"])
    assert quiet.exit_code == 0 and "phase scan" not in quiet.stderr
    sample = ["sample", "--dataset", "gaussian-field", "--data", "L=6", "--data",
              "n_samples=300", "--n-train", "100", "--n-samples", "20", "--denoiser", "linear",
              "--no-derive", "--steps", "2", "--preset", "all-local"]
    loud = CliRunner().invoke(get_cli(), [*sample, "--out", str(tmp_path / "s1")])
    assert loud.exit_code == 0 and "sampling (heun)" in loud.stderr
    quiet = CliRunner().invoke(get_cli(), [*sample, "--out", str(tmp_path / "s2"), "-q"])
    assert quiet.exit_code == 0 and "sampling" not in quiet.stderr


def test_a_damaged_stored_network_is_trained_again(tmp_path):
    from markovphase import LocalDenoiser
    from markovphase.experiment.models import ModelStore

    X = load_dataset("digits").X[:40]
    est = LocalDenoiser(lattice_shape=(8, 8), radius=1, width=4, epochs=1, device="cpu",
                        random_state=0)
    store = ModelStore(tmp_path)
    weights = store.stem(est, X, False).with_suffix(".pt")
    weights.write_bytes(b"half a file")
    fitted = store.fit_or_load(est, X)
    assert fitted.transform(X[:2]).shape == (2, 64)
    again = LocalDenoiser.load(weights)  # replaced by a good file
    np.testing.assert_allclose(again.transform(X[:2]), fitted.transform(X[:2]), atol=1e-6)
