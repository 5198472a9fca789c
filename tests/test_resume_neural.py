"""Issue 13: a ``neural`` (or ``mine``) scan killed midway resumes with only what had not
finished, during training (from the last training checkpoint) and during the per-time
evaluation (from the cached cells, on the finished network), with the numbers of an
uninterrupted run.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from markovphase import MINECMI, NeuralCMI, PhaseScan
from markovphase.cache import CellCache
from markovphase.cmi._checkpoint import TrainingCheckpoint
from markovphase.datasets import load_dataset

pytestmark = pytest.mark.usefixtures("fresh_registry")

TIMES = [0.2, 0.5, 0.8]
SMALL = dict(hidden=(16,), channels=4, max_steps=60, eval_every=20, batch_size=64,
             n_components=2)


class Killed(Exception):
    pass


@pytest.fixture(scope="module")
def field():
    ds = load_dataset("gaussian-field", n_samples=300, shape=(6, 6), random_state=0)
    return ds.X, ds.lattice_shape


def scan(shape, est, cache_dir):
    return PhaseScan(lattice_shape=shape, radii=[1, 2], times=TIMES, cmi=est,
                     cache_dir=cache_dir, random_state=3)


@pytest.fixture
def record(monkeypatch):
    """Records every checkpoint state loaded; ``record.kill_at(step)`` raises right
    after the checkpoint of ``step`` is saved (a kill between two checks)."""
    loaded, kill = [], {}
    load, save = TrainingCheckpoint.load, TrainingCheckpoint.save

    def spy_load(self):
        state = load(self)
        loaded.append(None if state is None else (state["finished"], state.get("step")))
        return state

    def spy_save(self, state):
        save(self, state)
        if state.get("step") is not None and state.get("step") == kill.get("step"):
            kill.clear()
            raise Killed(f"killed after step {state['step']}")

    monkeypatch.setattr(TrainingCheckpoint, "load", spy_load)
    monkeypatch.setattr(TrainingCheckpoint, "save", spy_save)
    return type("Record", (), {"loaded": loaded, "kill_at": lambda step: kill.update(step=step)})


@pytest.mark.parametrize("cls", [NeuralCMI, MINECMI])
def test_a_scan_killed_in_training_resumes_from_the_last_checkpoint(field, tmp_path, record,
                                                                    cls):
    X, shape = field
    params = {k: v for k, v in SMALL.items() if k in cls().get_params()}
    full = scan(shape, cls(**params), tmp_path / "full").fit(X)
    assert record.loaded == [None]  # nothing to resume: trained from scratch
    record.kill_at(40)
    with pytest.raises(Killed):
        scan(shape, cls(**params), tmp_path / "killed").fit(X)
    again = scan(shape, cls(**params), tmp_path / "killed").fit(X)
    assert record.loaded[-1] == (False, 40)  # resumed at step 40 of 60, not from 0
    assert again.n_cells_computed_ == len(TIMES)
    np.testing.assert_array_equal(again.results_.value, full.results_.value)
    np.testing.assert_array_equal(again.results_.stderr, full.results_.stderr)


def test_a_scan_killed_between_times_evaluates_only_the_missing_ones(field, tmp_path, record,
                                                                     monkeypatch):
    X, shape = field
    full = scan(shape, NeuralCMI(**SMALL), tmp_path / "full").fit(X)
    save, saved = CellCache.save, []

    def kill_after_first(self, t, payload):
        if saved:
            raise Killed("killed in the evaluation")
        save(self, t, payload)
        saved.append(t)

    monkeypatch.setattr(CellCache, "save", kill_after_first)
    with pytest.raises(Killed):
        scan(shape, NeuralCMI(**SMALL), tmp_path / "killed").fit(X)
    monkeypatch.setattr(CellCache, "save", save)
    again = scan(shape, NeuralCMI(**SMALL), tmp_path / "killed").fit(X)
    assert (again.n_cells_cached_, again.n_cells_computed_) == (1, 2)
    assert record.loaded[-1] == (True, None)  # the finished network, trained on all 3 times
    np.testing.assert_array_equal(again.results_.value, full.results_.value)


def test_checkpoints_change_no_result_and_a_damaged_one_is_trained_again(field, tmp_path):
    X, shape = field
    plain = scan(shape, NeuralCMI(**SMALL), None).fit(X)
    first = scan(shape, NeuralCMI(**SMALL), tmp_path).fit(X)
    np.testing.assert_array_equal(first.results_.value, plain.results_.value)
    (ckpt,) = tmp_path.glob("*/checkpoints/density-*.pt")
    state = torch.load(ckpt, weights_only=True)  # plain tensors and numbers: loads safely
    assert state["finished"] and state["times"] == TIMES
    ckpt.write_bytes(b"not a checkpoint")
    for cell in tmp_path.glob("*/cells/*.json"):
        cell.unlink()
    with pytest.warns(RuntimeWarning, match="cannot be read"):
        again = scan(shape, NeuralCMI(**SMALL), tmp_path).fit(X)
    np.testing.assert_array_equal(again.results_.value, plain.results_.value)
    assert torch.load(ckpt, weights_only=True)["finished"]


def test_a_neural_scan_shows_a_bar_per_training_run_and_per_cell(field, tmp_path, capsys):
    X, shape = field
    kw = dict(lattice_shape=shape, radii=[1, 2], times=TIMES, cmi=NeuralCMI(**SMALL),
              random_state=3)
    loud = PhaseScan(verbose=1, **kw).fit(X)
    err = capsys.readouterr().err
    assert "density CMI fit" in err and "60/60" in err  # the training run
    assert "phase scan" in err and "3/3" in err  # the cells
    quiet = PhaseScan(**kw).fit(X)
    assert capsys.readouterr().err == ""
    np.testing.assert_array_equal(loud.results_.value, quiet.results_.value)


def test_a_killed_neural_cli_scan_resumes_its_training(tmp_path):
    """``markovphase scan --cmi neural`` killed (SIGKILL) in training, then run again: the
    training bar starts where the last checkpoint was, and the report is written."""
    import re
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "markovphase", "scan", "--dataset", "gaussian-field",
           "--shape", "6,6", "--n-samples", "300", "--cmi", "neural", "--times", "0.2,0.5",
           "--radii", "1,2", "--out", str(out), "--cmi-param", "max_steps=600",
           "--cmi-param", "eval_every=25", "--cmi-param", "hidden=[16]",
           "--cmi-param", "channels=4", "--cmi-param", "batch_size=32"]
    env = {**__import__("os").environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 120
    while not list(out.glob("cache/*/checkpoints/density-*.pt")):
        assert first.poll() is None and time.monotonic() < deadline, "no checkpoint was written"
        time.sleep(0.05)
    time.sleep(0.5)
    first.send_signal(signal.SIGKILL)
    first.wait()
    (ckpt,) = out.glob("cache/*/checkpoints/density-*.pt")
    step = torch.load(ckpt, weights_only=True)["step"]
    assert 0 < step < 600
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    resumed_at = [int(m) for m in re.findall(r"(\d+)/600", again.stderr)]
    assert resumed_at and resumed_at[0] >= step  # the bar starts at the checkpoint, not at 0
    assert (out / "results.json").exists()
