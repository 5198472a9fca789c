"""The examples run (they are documentation that must not rot)."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name, *args, timeout=600):
    proc = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True,
                          text=True, timeout=timeout, env={"MPLBACKEND": "Agg",
                                                           **__import__("os").environ})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_pipeline_example():
    out = run_example("pipeline.py")
    assert "columns: ['r1_cmi', 'r2_cmi']" in out


@pytest.mark.slow
def test_grid_search_radius_example():
    if not (EXAMPLES / "grid_search_radius.py").exists():
        pytest.skip("examples/grid_search_radius.py not present")
    out = run_example("grid_search_radius.py")
    assert "radius" in out
