"""Paired comparison of one schedule's sample sets across two ``hybrid_mnist`` runs.

Each run folder's ``metrics.csv`` holds a schedule's sets ``NAME, NAME#2, ...``;
when two runs used the same ``--sample-seed``, set k of each starts from the
same noise, so the per-set difference isolates what changed between the runs
(a time grid, a schedule). Prints, per key metric, both runs' mean (sd), the
paired difference B - A as mean (se), that mean in units of A's sd, and how many
of B's sets lie inside A's [min, max]. Usage::

    python benchmarks/paired_runs.py RUN_A all-global RUN_B all-global
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import pandas as pd

from markovphase import provenance

KEY = ["frechet_distance", "kernel_mmd2", "frechet_distance_pca", "label_entropy", "confidence"]


def set_columns(wide: pd.DataFrame, name: str) -> list:
    """``name`` and its repeats ``name#2, name#3, ...`` among ``wide``'s columns, in seed order."""
    reps = [c for c in wide.columns if str(c).startswith(f"{name}#")]
    return [name] + sorted(reps, key=lambda c: int(str(c).rsplit("#", 1)[1]))


def load_sets(run_dir: str, name: str) -> pd.DataFrame:
    """Rows: metrics; columns: the sets of ``name`` in seed order (``name``, ``name#2``, ...)."""
    m = pd.read_csv(os.path.join(run_dir, "metrics.csv"))
    wide = m.pivot_table(index="metric", columns="schedule", values="generated")
    if name not in wide.columns:
        raise SystemExit(f"schedule {name!r} is not in {run_dir}/metrics.csv; it has "
                         f"{sorted(c for c in wide.columns if '#' not in str(c))}")
    return wide.loc[[k for k in KEY if k in wide.index], set_columns(wide, name)]


def paired_table(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Per metric (row) of two set tables whose column k shares its starting noise."""
    n = min(a.shape[1], b.shape[1])
    va, vb = a.to_numpy()[:, :n], b.to_numpy()[:, :n]
    d = vb - va
    sd_a = va.std(axis=1, ddof=1)
    return pd.DataFrame({
        "A mean (sd)": [f"{x.mean():.4f} ({x.std(ddof=1):.4f})" for x in va],
        "B mean (sd)": [f"{x.mean():.4f} ({x.std(ddof=1):.4f})" for x in vb],
        "B - A paired mean (se)": [f"{x.mean():+.4f} ({x.std(ddof=1) / np.sqrt(n):.4f})"
                                   for x in d],
        "diff / sd(A)": np.round(d.mean(axis=1) / sd_a, 2),
        "B sets inside A [min, max]": [f"{int(((y >= x.min()) & (y <= x.max())).sum())}/{n}"
                                       for x, y in zip(va, vb, strict=True)],
    }, index=a.index)


def paired_against(wide: pd.DataFrame, names, key, reference: str = "all-global"):
    """:func:`paired_table` of each schedule in ``names`` (B) against ``reference`` (A, the
    same seeds) on the metrics ``key``, stacked with a ``schedule`` level; ``None`` when
    ``names`` is empty."""
    if not names:
        return None
    ref = wide.loc[key, set_columns(wide, reference)]
    return pd.concat({n: paired_table(ref, wide.loc[key, set_columns(wide, n)]) for n in names},
                     names=["schedule"])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_a")
    p.add_argument("schedule_a")
    p.add_argument("run_b")
    p.add_argument("schedule_b")
    args = p.parse_args(argv)
    a, b = load_sets(args.run_a, args.schedule_a), load_sets(args.run_b, args.schedule_b)
    print(provenance.header(), end="")
    print(f"A = {args.schedule_a} in {args.run_a} ({a.shape[1]} sets); "
          f"B = {args.schedule_b} in {args.run_b} ({b.shape[1]} sets)")
    print(paired_table(a, b).to_string())


if __name__ == "__main__":
    main()
