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
