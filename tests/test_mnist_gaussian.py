"""The Gaussian scan of the real MNIST test set against its closed-form surrogate.

The surrogate is the Gaussian with the clean data's covariance, noised exactly:
Sigma_t = (1 - t)^2 Sigma_0 + t^2 I. Its CMI decreases with t (no bump): the
transition is a non-Gaussian effect.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from exact_gaussian import exact_cmi, linear_path_cov

import markovphase as mp

SHARED = Path(__file__).resolve().parents[2] / "shared"
MNIST = SHARED / "data" / "mnist" / "t10k-images-idx3-ubyte.gz"
pytestmark = pytest.mark.skipif(not MNIST.exists(), reason=f"shared MNIST file absent: {MNIST}")

TIMES, RADII = [0.0, 0.2, 0.3, 0.5, 0.7], [1, 2, 4]


@pytest.mark.slow
def test_cli_gaussian_scan_matches_surrogate(tmp_path):
    out = tmp_path / "mnist"
    subprocess.run([sys.executable, "-m", "markovphase", "scan", "--dataset", "mnist",
                    "--path", str(MNIST), "--crop", "27", "--cmi", "gaussian",
                    "--times", ",".join(map(str, TIMES)), "--radii", "1,2,4", "--out", str(out),
                    "--quiet"], check=True, capture_output=True, text=True)
    doc = json.loads((out / "results.json").read_text())
    assert doc["estimator"] == "gaussian"
    assert "gaussian" in (out / "summary.txt").read_text()
    res = pd.read_csv(out / "results.csv")
    ds = mp.load_dataset("mnist", path=str(MNIST), crop=27)
    cov0 = np.cov(ds.X, rowvar=False)
    lattice = ds.lattice
    # t = 0: collinear clean pixels make the sample Gaussian undefined -> NaN with a reason
    t0 = res[res.t == 0.0]
    assert t0.value.isna().all() and t0.note.str.contains("not estimable").all()
    for t in TIMES[1:]:
        for r in RADII:
            g = lattice.regions(None, r)
            exact = exact_cmi(linear_path_cov(cov0, t), g.A, g.C, g.B)
            row = res[(res.t == t) & (res.r == r)].iloc[0]
            assert abs(row.value - exact) < 3 * row.stderr + 1e-3, (t, r, row.value, exact)
    r1 = res[res.r == 1].set_index("t").value.loc[TIMES[1:]].to_numpy()
    assert np.all(np.diff(r1) <= 2 * res[res.r == 1].stderr.max())  # monotone: no bump
    assert doc["transition_window"] is None
