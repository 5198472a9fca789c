"""What the schedule experiment writes: tables, schedules, samples, a figure, provenance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .. import provenance
from ..cache import canonical

__all__ = ["write_outputs", "plot_samples"]


def write_outputs(result: dict, out_dir, command: str | None = None) -> Path:
    """Write the experiment's tables, schedules, samples and figure to ``out_dir``.

    Files: ``summary.csv``, ``metrics.csv``, ``phases.csv``, ``gap.csv`` (with a
    gap table), ``scan.csv`` (with a derived scan: its ``results_``),
    ``schedules/*.json``, ``samples.npz``, ``samples.png`` and ``result.json``
    (the summary, fit seconds, the config and the provenance: ``command``, git
    commit and package versions, :func:`markovphase.provenance.record`).
    """
    out = Path(out_dir)
    (out / "schedules").mkdir(parents=True, exist_ok=True)
    result["summary"].to_csv(out / "summary.csv", index=False)
    result["metrics"].to_csv(out / "metrics.csv", index=False)
    result["phases"].to_csv(out / "phases.csv", index=False)
    if result.get("gap") is not None:
        result["gap"].to_csv(out / "gap.csv", index=False)
    if result.get("scan") is not None:
        result["scan"].results_.to_csv(out / "scan.csv", index=False)
    for name, s in result["schedules"].items():
        s.to_json(out / "schedules" / f"{name}.json")
    np.savez_compressed(out / "samples.npz", **{k.replace("-", "_"): v
                                                for k, v in result["samples"].items()})
    config = result.get("config")
    with open(out / "result.json", "w", encoding="utf-8") as fh:
        json.dump({"provenance": provenance.record(command=command),
                   "config": None if config is None else canonical(config.to_dict()),
                   "summary": result["summary"].to_dict(orient="records"),
                   "fit_seconds": result["fit_seconds"]}, fh, indent=2, default=float)
    plot_samples(result, out / "samples.png")
    return out


def plot_samples(result: dict, path, n_show: int = 8):
    """One row of samples per schedule (plus held-out real), with its schedule drawn.

    Every row starts from the same noise, so a column compares schedules on one
    starting point; the repeated sets (``NAME#k``, other noise) are left out.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ds = result["dataset"]
    shape = tuple(ds.lattice_shape)
    names = [n for n in result["samples"] if n in result["schedules"]]
    rows = [("real (held out)", result["held_out"])] + [(n, result["samples"][n]) for n in names]
    fig, axes = plt.subplots(len(rows), n_show + 1, figsize=(1.3 * (n_show + 2), 1.3 * len(rows)),
                             gridspec_kw={"width_ratios": [2.5] + [1] * n_show})
    for i, (name, X) in enumerate(rows):
        ax0 = axes[i, 0]
        if name in result["schedules"]:
            result["schedules"][name].plot(ax=ax0)
            ax0.set_xlabel("")
            ax0.set_ylabel("")
            ax0.tick_params(labelsize=6)
        else:
            ax0.axis("off")
        ax0.set_title(name, fontsize=8)
        for j in range(n_show):
            ax = axes[i, j + 1]
            ax.axis("off")
            if j < len(X) and len(shape) == 2:
                ax.imshow(X[j].reshape(shape), cmap="gray")
            elif j < len(X):
                ax.plot(X[j])
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
