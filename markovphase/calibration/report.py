"""Calibration results as text, CSV and a figure (estimate vs exact per case).

The table comes from :func:`~markovphase.calibration.runner.run_calibration`
(one row per case, t, r). :func:`format_table` prints one line per cell,
:func:`summary` the pass count per case, :func:`write_calibration` writes
``calibration.csv``, ``calibration.png`` and ``calibration.json`` (summary and
the caller's provenance) to a directory.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["format_table", "summary", "plot_calibration", "write_calibration"]


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per case and parameters: cells, passed, largest |error| and RMS error (nats)."""
    g = table.groupby(["case", "params"], sort=False)
    out = g.agg(cells=("passed", "size"), passed=("passed", "sum"),
                max_abs_error=("error", lambda e: float(np.nanmax(np.abs(e)))),
                rms_error=("error", lambda e: float(np.sqrt(np.nanmean(np.square(e))))),
                seconds=("seconds", "first"))
    return out.reset_index()


def format_table(table: pd.DataFrame) -> str:
    """One line per cell: case, t, r, estimate +- stderr, exact +- stderr, error, tolerance."""
    head = (f"{'case':<16} {'t':>4} {'r':>3} {'estimate':>9} {'stderr':>7} {'exact':>8} "
            f"{'stderr':>7} {'error':>8} {'tol':>6}  ok")
    lines = [head]
    for case_params, sub in table.groupby(["case", "params"], sort=False):
        lines.append(f"# {case_params[0]} {case_params[1]}")
        for row in sub.itertuples(index=False):
            lines.append(
                f"{row.case:<16} {row.t:4.2f} {row.r:3d} {row.estimate:9.4f} {row.stderr:7.4f} "
                f"{row.exact:8.4f} {row.exact_stderr:7.4f} {row.error:+8.4f} "
                f"{row.tolerance:6.3f}  {'yes' if row.passed else 'NO'}")
    s = summary(table)
    lines.append(f"passed {int(s.passed.sum())}/{int(s.cells.sum())} cells")
    for row in s.itertuples(index=False):
        lines.append(f"  {row.case} {row.params}: {int(row.passed)}/{int(row.cells)}, max |error| "
                     f"{row.max_abs_error:.4f}, RMS {row.rms_error:.4f}, {row.seconds:.1f} s")
    return "\n".join(lines)


def plot_calibration(table: pd.DataFrame, title: str | None = None):
    """One panel per case: estimate (points, +-stderr) and exact (lines) against r, per t."""
    import matplotlib.pyplot as plt

    groups = list(table.groupby(["case", "params"], sort=False))
    ncol = min(3, len(groups))
    nrow = int(np.ceil(len(groups) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.4 * nrow), squeeze=False)
    for ax, ((case, params), sub) in zip(axes.flat, groups, strict=False):
        for i, (t, cell) in enumerate(sub.groupby("t")):
            color = f"C{i}"
            ax.plot(cell.r, cell.exact, "-", color=color, label=f"t={t:g}")
            ax.fill_between(cell.r, cell.exact - cell.tolerance, cell.exact + cell.tolerance,
                            color=color, alpha=0.12, lw=0)
            ax.errorbar(cell.r, cell.estimate, yerr=cell.stderr, fmt="o", ms=3, color=color)
        ok = int(sub.passed.sum())
        ax.set_title(f"{case}  {ok}/{len(sub)}\n{textwrap.fill(params, 60)}", fontsize=7)
        ax.set_xlabel("r")
        ax.set_ylabel("I(A;C|B(r)) [nats]")
        ax.axhline(0, color="k", lw=0.5)
    for ax in list(axes.flat)[len(groups):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def write_calibration(table: pd.DataFrame, out_dir, meta: dict | None = None,
                      title: str | None = None, name: str = "calibration") -> dict[str, str]:
    """Write ``NAME.csv``, ``NAME.png`` and ``NAME.json`` to ``out_dir``.

    ``meta`` (e.g. the estimator, the command, the commit) goes into the JSON
    next to the per-case summary. Returns the paths written.
    """
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {ext: os.fspath(out / f"{name}.{ext}") for ext in ("csv", "png", "json")}
    table.to_csv(paths["csv"], index=False)
    fig = plot_calibration(table, title)
    fig.savefig(paths["png"], dpi=120)
    plt.close(fig)
    record = {**(meta or {}), "summary": summary(table).to_dict("records"),
              "passed": int(table.passed.sum()), "cells": len(table)}
    with open(paths["json"], "w") as fh:
        json.dump(record, fh, indent=1, default=str)
    return paths
