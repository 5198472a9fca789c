"""The paired-set statistics that ``benchmarks/hybrid_mnist.py`` and
``benchmarks/paired_runs.py`` print, and how hybrid_mnist builds its command
(the scripts are loaded by path)."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def paired_runs():
    spec = importlib.util.spec_from_file_location("paired_runs", BENCH / "paired_runs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _wide(sets: dict) -> pd.DataFrame:
    """A metrics pivot: rows metrics, one column per set ``NAME`` / ``NAME#k``."""
    cols = {}
    for name, values in sets.items():
        for k, v in enumerate(np.asarray(values, dtype=float).T):
            cols[name if k == 0 else f"{name}#{k + 1}"] = v
    return pd.DataFrame(cols, index=["frechet_distance", "confidence"])


def test_set_columns_orders_repeats_by_seed(paired_runs):
    wide = _wide({"all-global": np.zeros((2, 11)), "derived-gap": np.zeros((2, 3))})
    assert paired_runs.set_columns(wide, "all-global") == (
        ["all-global"] + [f"all-global#{k}" for k in range(2, 12)])
    assert paired_runs.set_columns(wide, "derived-gap") == [
        "derived-gap", "derived-gap#2", "derived-gap#3"]


def test_paired_table_values(paired_runs):
    a = np.array([[3.0, 3.5, 4.0, 3.2], [0.90, 0.88, 0.89, 0.91]])
    shift = np.array([[0.1, 0.3, 0.2, 0.2], [-0.01, -0.01, -0.01, -0.01]])
    b = a + shift
    wide = _wide({"A": a, "B": b})
    t = paired_runs.paired_table(wide[paired_runs.set_columns(wide, "A")],
                                 wide[paired_runs.set_columns(wide, "B")])
    d = shift[0]
    se = d.std(ddof=1) / 2
    assert t.loc["frechet_distance", "B - A paired mean (se)"] == f"+{d.mean():.4f} ({se:.4f})"
    assert t.loc["frechet_distance", "diff / sd(A)"] == round(0.2 / a[0].std(ddof=1), 2)
    # B's sets 3.1, 3.8, 4.2, 3.4 against A's [3.0, 4.0]: 3 inside
    assert t.loc["frechet_distance", "B sets inside A [min, max]"] == "3/4"
    assert t.loc["confidence", "B - A paired mean (se)"] == "-0.0100 (0.0000)"
    assert t.loc["confidence", "B sets inside A [min, max]"] == "3/4"


def test_load_sets_names_the_missing_schedule(paired_runs, tmp_path):
    rows = [{"schedule": s, "metric": m, "generated": 1.0, "baseline": 0.0}
            for s in ("all-global", "all-global#2") for m in ("frechet_distance", "confidence")]
    pd.DataFrame(rows).to_csv(tmp_path / "metrics.csv", index=False)
    sets = paired_runs.load_sets(str(tmp_path), "all-global")
    assert list(sets.columns) == ["all-global", "all-global#2"]
    with pytest.raises(SystemExit, match="'derived-gap' is not in .*'all-global'"):
        paired_runs.load_sets(str(tmp_path), "derived-gap")


def test_paired_against_pairs_each_repeated_schedule_with_all_global(paired_runs):
    a = np.array([[3.0, 3.5, 4.0], [0.90, 0.88, 0.89]])
    wide = _wide({"all-global": a, "derived-gap": a + 0.5, "all-local": a})
    t = paired_runs.paired_against(wide, ["derived-gap", "all-local"], ["frechet_distance"])
    assert t.loc[("derived-gap", "frechet_distance"), "B - A paired mean (se)"] == (
        "+0.5000 (0.0000)")
    assert t.loc[("all-local", "frechet_distance"), "diff / sd(A)"] == 0.0
    assert paired_runs.paired_against(wide, [], ["frechet_distance"]) is None


def test_hybrid_mnist_adds_its_defaults_in_front_of_the_sample_options(paired_runs, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    monkeypatch.setitem(sys.modules, "paired_runs", paired_runs)
    spec = importlib.util.spec_from_file_location("hybrid_mnist", BENCH / "hybrid_mnist.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    argv = ["--out", "o", "--threads", "2", "--gap-radii", "1,2", "--data", "path=/m.gz"]
    args, threads = mod.sample_arguments(argv, env={"MARKOVPHASE_MNIST": "/other.gz"})
    assert threads == 2 and args == [*mod.DEFAULTS, "--out", "o", "--gap-radii", "1,2",
                                     "--data", "path=/m.gz"]
    # a later option wins: the command parses to the user's radii, the defaults' epochs
    from markovphase.cli import get_cli

    ctx = get_cli().commands["sample"].make_context("sample", list(args))
    assert ctx.params["gap_radii"] == "1,2" and "epochs=8" in ctx.params["denoiser_params"]
    # without path=, the environment's file is written into the command
    args, threads = mod.sample_arguments(["--out", "o"], env={"MARKOVPHASE_MNIST": "/m.gz"})
    assert threads == 1 and args[-2:] == ["--data", "path=/m.gz"]
    assert mod.option_values(args, "--out") == ["o"]
