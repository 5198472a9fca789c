"""The third-party path end to end: entry point -> registry -> load_dataset / CLI / scan."""

import json
import os
import subprocess
import sys

import markovphase
import numpy as np
from markovphase import plugins


def test_components_come_from_the_distribution():
    found = {(c.kind, c.name): c for c in plugins.components()}
    for key in [("dataset", "ising"), ("dataset", "potts"), ("probe", "order-parameter")]:
        assert key in found, sorted(found)
        assert found[key].distribution == "markovphase-ising"
    from markovphase_ising import OrderParameterProbe, load_ising, load_potts

    assert plugins.get("dataset", "ising") is load_ising
    assert plugins.get("dataset", "potts") is load_potts
    assert plugins.get("probe", "order-parameter") is OrderParameterProbe
    assert not [e for e in plugins.load_errors() if e["distribution"] == "markovphase-ising"]


def test_load_dataset_by_name():
    ds = markovphase.load_dataset("potts", L=4, q=3, n_samples=20, random_state=0)
    assert ds.name == "potts" and ds.n_channels == 3 and ds.X.shape == (20, 48)


def _cli(*args, env=None):
    out = subprocess.run([sys.executable, "-m", "markovphase", *args], capture_output=True,
                         text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_markovphase_plugins_lists_our_components():
    rows = json.loads(_cli("plugins", "--json"))["components"]
    ours = {(r["kind"], r["name"]) for r in rows if r["distribution"] == "markovphase-ising"}
    assert ours == {("dataset", "ising"), ("dataset", "potts"), ("probe", "order-parameter")}


def test_markovphase_works_without_the_plugin():
    """Entry points off (as if not installed): our components vanish, nothing breaks."""
    env = {**os.environ, "MARKOVPHASE_NO_ENTRYPOINTS": "1"}
    rows = json.loads(_cli("plugins", "--json", env=env))["components"]
    assert rows and not [r for r in rows if r["distribution"] == "markovphase-ising"]
    assert "ising" not in _cli("datasets", env=env)


def test_ising_check_command():
    out = json.loads(_cli("ising-check", "--L", "8", "--temperature", "2.0", "--n-samples",
                          "400", "--times", "0,1", "--json"))
    assert out["model"] == "ising" and out["L"] == 8
    assert abs(out["energy_mean"] - out["exact_energy_finite_size"]) < 5 * out["energy_stderr"]
    assert out["order_parameter_readout"][0]["accuracy"] == 1.0


def test_phase_scan_with_the_order_parameter_probe():
    from markovphase.scan import PhaseScan

    ds = markovphase.load_dataset("ising", L=8, temperature=2.0, n_samples=200)
    scan = PhaseScan(lattice_shape=ds.lattice_shape, times=[0.0, 0.5, 1.0], radii=[1],
                     probe="order-parameter", periodic=True, random_state=0).fit(ds.X)
    values = scan.results_.sort_values("t")["value"].to_numpy()
    assert values[0] == np.log(2) and values[-1] < 0.05


def test_ising_check_potts_text_output():
    from click.testing import CliRunner

    from markovphase_ising.cli import ising_check

    res = CliRunner().invoke(ising_check, ["--model", "potts", "--L", "6", "--q", "3",
                                           "--temperature", "0.8", "--n-samples", "200",
                                           "--times", "0,1"])
    assert res.exit_code == 0, res.output
    assert "potts L=6 T=0.8 q=3" in res.output and "chance 0.333" in res.output
    assert "t=0     accuracy 1.000" in res.output
