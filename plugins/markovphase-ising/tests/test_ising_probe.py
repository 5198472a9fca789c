"""The order-parameter probe on Ising and Potts data."""

import numpy as np
import pytest
from markovphase.probes import Probe
from sklearn.base import clone

from markovphase_ising import OrderParameterProbe, load_ising, load_potts
from markovphase_ising.probe import plugin_mutual_information, symmetric_channel_information


@pytest.fixture(scope="module")
def ordered():
    return load_ising(L=16, temperature=2.0, n_samples=400, random_state=0)


def _row(ds, t, **kw):
    probe = OrderParameterProbe(lattice_shape=ds.lattice_shape, n_channels=ds.n_channels, t=t,
                                random_state=0, **kw)
    return probe.fit(ds.X).results_[0]


def test_macrostate_is_read_perfectly_at_t0_and_not_at_t1(ordered):
    r0 = _row(ordered, 0.0)
    assert r0["r"] is None and r0["accuracy"] == 1.0
    assert r0["value"] == pytest.approx(np.log(2)) and r0["stderr"] == 0.0
    r1 = _row(ordered, 1.0)
    assert abs(r1["accuracy"] - 0.5) < 4 * r1["accuracy_stderr"]
    assert r1["value"] < 0.02 and r1["chance"] == 0.5


def test_readout_decays_along_the_path_below_tc(ordered):
    acc = [_row(ordered, t)["accuracy"] for t in (0.0, 0.9, 0.97, 1.0)]
    assert acc[0] >= acc[1] >= acc[2] >= acc[3] - 0.05
    # L=16, m* ~ 0.91: signal (1-t) m* N vs noise t sqrt(N) -> t_s ~ 1 - 1/(m* L) ~ 0.94
    assert acc[1] > 0.9 and acc[2] < 0.9


def test_speciation_is_earlier_above_tc():
    """Above T_c the magnetisation is only ~sqrt(chi / N): noise hides it much sooner."""
    hot = load_ising(L=16, temperature=3.5, n_samples=400, random_state=0)
    cold = load_ising(L=16, temperature=2.0, n_samples=400, random_state=0)
    assert _row(hot, 0.8)["accuracy"] < _row(cold, 0.8)["accuracy"] - 0.2


def test_potts_majority_state():
    ds = load_potts(L=8, q=3, temperature=0.7, n_samples=300, random_state=0)
    r0, r1 = _row(ds, 0.0), _row(ds, 1.0)
    assert r0["accuracy"] == 1.0 and r0["value"] == pytest.approx(np.log(3))
    assert r1["chance"] == pytest.approx(1 / 3)
    assert abs(r1["accuracy"] - 1 / 3) < 4 * r1["accuracy_stderr"] + 1e-9


def test_logistic_readout_on_held_out_samples(ordered):
    row = _row(ordered, 0.0, readout="logistic", test_size=0.5)
    assert row["n_test"] == 200 and row["accuracy"] > 0.95


def test_information_formulas():
    assert symmetric_channel_information(0.5, 2) == pytest.approx(0.0)
    assert symmetric_channel_information(1.0, 3) == pytest.approx(np.log(3))
    a = 0.8  # binary symmetric channel: ln 2 - H(a)
    assert symmetric_channel_information(a, 2) == pytest.approx(
        np.log(2) + a * np.log(a) + (1 - a) * np.log(1 - a))
    y = np.array([0, 0, 1, 1] * 50)
    assert plugin_mutual_information(y, y) == pytest.approx(np.log(2))
    assert plugin_mutual_information(y, np.tile([0, 1], 100)) == pytest.approx(0.0)


def test_probe_protocol_for_phase_scan(ordered):
    probe = OrderParameterProbe(lattice_shape=(16, 16), radii=[1, 2], random_state=0)
    params = probe.get_params()
    for key in ("lattice_shape", "t", "radii", "path", "n_channels", "periodic",
                "random_state"):
        assert key in params
    fitted = clone(probe).set_params(t=0.5, path="cosine").fit(ordered.X)
    row = fitted.results_[0]
    assert {"r", "value", "stderr", "accuracy", "snr"} <= set(row)
    # the old spelling of the forward path warns and reads the same
    with pytest.warns(FutureWarning, match="'schedule' is deprecated"):
        old = clone(probe).set_params(t=0.5, schedule="cosine").fit(ordered.X)
    assert old.results_ == fitted.results_
    assert isinstance(probe, Probe) and not probe.supports_path()


@pytest.mark.parametrize("kw, err, match", [
    ({"readout": "bayes"}, ValueError, "readout='bayes'"),
    ({"t": 1.5}, ValueError, "t=1.5"),
    ({"lattice_shape": (8, 8)}, ValueError, "needs"),
    ({"lattice_shape": None}, ValueError, "lattice_shape"),
])
def test_bad_parameters(ordered, kw, err, match):
    params = {"lattice_shape": (16, 16), "t": 0.5, **kw}
    with pytest.raises(err, match=match):
        OrderParameterProbe(**params).fit(ordered.X)
