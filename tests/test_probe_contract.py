"""The Probe contract: what a PhaseScan asks of a probe, names resolved once, renames."""

import warnings

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.base import BaseEstimator

from markovphase import PhaseScan, plugins
from markovphase.cli import get_cli
from markovphase.datasets.gaussian_field import sample_gaussian_field
from markovphase.diffusion import LinearPath
from markovphase.probes import Probe, ScanSetting
from markovphase.probes.markov import MarkovProbe
from markovphase.probes.markov_length import fit_markov_length

SHAPE = (6, 6)
TIMES = [0.2, 0.5, 0.8]


@pytest.fixture(scope="module")
def X():
    return sample_gaussian_field(SHAPE, 0.5, 3000, random_state=0).reshape(3000, -1)


class DecayProbe(Probe):
    """value(r) = exp(-r / (1 + t)) exactly: the Markov length is 1 + t."""

    def __init__(self, lattice_shape=None, radii=(1, 2, 3), t=0.0, path="linear"):
        self.lattice_shape = lattice_shape
        self.radii = radii
        self.t = t
        self.path = path

    def fit(self, X, y=None):
        self.results_ = [{"r": int(r), "value": float(np.exp(-r / (1 + self.t))),
                          "stderr": 1e-6, "path": self.path.name} for r in self.radii]
        return self


class PathProbe(DecayProbe):
    """Serves every time of a scan in one run and counts the runs."""

    runs = []

    def supports_path(self):
        return True

    def fit_path(self, X, times):
        type(self).runs.append(list(times))
        out = {}
        for t in times:
            cell = DecayProbe(radii=self.radii, t=t, path=self.path).fit(X)
            out[float(t)] = {"rows": cell.results_, "markov_length": {"xi": 1 + t, "status": "p"}}
        return out


class PlainProbe(BaseEstimator):
    """Not a Probe subclass: only fit/results_, and the old `schedule` parameter name."""

    def __init__(self, radii=(1, 2), t=0.0, schedule="linear"):
        self.radii = radii
        self.t = t
        self.schedule = schedule

    def fit(self, X, y=None):
        self.results_ = [{"r": int(r), "value": 0.5 ** r, "stderr": 1e-3,
                          "path": self.schedule.name} for r in self.radii]
        return self


def test_scan_passes_its_setting_and_fits_the_markov_length(X):
    scan = PhaseScan(lattice_shape=SHAPE, times=TIMES, radii=[1, 2, 3], probe=DecayProbe,
                     path="cosine").fit(X)
    assert set(scan.results_["path"]) == {"cosine"}  # the resolved path reached the probe
    np.testing.assert_allclose(scan.markov_length_.xi, 1 + np.array(TIMES), rtol=1e-9)
    assert scan.probe_name_ == "DecayProbe" and scan.cmi_label_ is None  # no cmi parameter
    assert scan.probe_.get_params()["lattice_shape"] == SHAPE


def test_path_mode_serves_every_time_in_one_run(X):
    PathProbe.runs.clear()
    scan = PhaseScan(lattice_shape=SHAPE, times=TIMES, radii=[1, 2], probe=PathProbe).fit(X)
    assert PathProbe.runs == [TIMES]
    assert list(scan.markov_length_.status) == ["p"] * 3
    np.testing.assert_allclose(scan.markov_length_.xi, 1 + np.array(TIMES))


def test_a_plain_estimator_works_with_the_defaults(X):
    scan = PhaseScan(lattice_shape=SHAPE, times=TIMES, radii=[1, 2], probe=PlainProbe).fit(X)
    # its forward path arrives as `schedule`; no path mode; xi from its rows
    assert set(scan.results_["path"]) == {"linear"}
    expected = fit_markov_length([1, 2], [0.5, 0.25], [1e-3, 1e-3])["xi"]
    np.testing.assert_allclose(scan.markov_length_.xi, expected)


def test_probe_defaults_and_setting():
    p = DecayProbe(radii=[1, 2], path=LinearPath()).fit(None)
    assert not p.supports_path()
    with pytest.raises(NotImplementedError, match="DecayProbe has no path mode"):
        p.fit_path(None, [0.5])
    assert p.markov_length_record()["xi"] == pytest.approx(1.0)
    setting = ScanSetting(lattice_shape=SHAPE, radii=(1,), path=LinearPath(), cmi=object,
                          random_state=3)
    # the fields it has, nothing else
    assert p.scan_params(setting) == {"lattice_shape": SHAPE, "radii": (1,),
                                      "path": LinearPath()}


def test_markov_probe_declares_path_mode_through_its_estimator():
    from markovphase.cmi.neural import NeuralCMI

    assert MarkovProbe(cmi=NeuralCMI).supports_path()
    assert not MarkovProbe(cmi="gaussian").supports_path()


def test_names_are_resolved_once_per_fit(X, monkeypatch):
    calls = []
    real = plugins.get

    def counting(kind, name):
        calls.append((kind, name))
        return real(kind, name)

    monkeypatch.setattr(plugins, "get", counting)
    scan = PhaseScan(lattice_shape=SHAPE, times=TIMES, radii=[1], probe="markov", cmi="knn",
                     cmi_params={"k": 4}, random_state=0).fit(X[:600])
    assert sorted(calls) == [("cmi", "knn"), ("probe", "markov")]
    assert scan.cmi_label_ == "knn(k=4)" and scan.probe_name_ == "markov"
    assert scan.probe_.get_params()["cmi"].k == 4  # an instance reached the probe


def test_old_probe_name_and_schedule_warn_and_give_the_same_scan(X):
    kw = dict(lattice_shape=SHAPE, times=TIMES, radii=[1, 2], random_state=0)
    new = PhaseScan(probe="markov", path="cosine", **kw).fit(X)
    with pytest.warns(FutureWarning) as record:
        old = PhaseScan(probe="cmi", schedule="cosine", **kw).fit(X)
    messages = " ".join(str(w.message) for w in record)
    assert "probe name 'cmi' is deprecated" in messages and "'schedule' is deprecated" in messages
    np.testing.assert_array_equal(old.results_.value, new.results_.value)
    np.testing.assert_array_equal(old.results_.snr, new.results_.snr)
    assert old.probe_name_ == "markov"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        PhaseScan(**kw).fit(X)  # the new spellings are quiet


@pytest.mark.usefixtures("fresh_registry")
def test_cli_old_spellings_warn_in_one_line(tmp_path):
    args = ["scan", "--dataset", "gaussian-field", "--L", "6", "--n-samples", "800",
            "--times", "0.5", "--radii", "1", "--quiet", "--no-cache"]
    new = CliRunner().invoke(get_cli(), [*args, "--forward-path", "cosine", "--out",
                                   str(tmp_path / "new")])
    old = CliRunner().invoke(get_cli(), [*args, "--schedule", "cosine", "--probe", "cmi", "--out",
                                   str(tmp_path / "old")])
    assert new.exit_code == old.exit_code == 0, (new.output, old.output)
    assert "markovphase: warning: --schedule is deprecated" in old.stderr
    assert "markovphase: warning: the probe name 'cmi' is deprecated" in old.stderr
    assert "warning" not in new.stderr
    assert (tmp_path / "old" / "results.csv").read_text() == \
        (tmp_path / "new" / "results.csv").read_text()
    assert "path: cosine" in (tmp_path / "new" / "summary.txt").read_text()
