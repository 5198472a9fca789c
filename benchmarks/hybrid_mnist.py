"""The paper's schedule experiment on MNIST: quality, FLOPs and wall time per schedule.

A thin wrapper of ``markovphase sample`` (its options are the command's, see
``markovphase sample --help``). It puts the MNIST defaults below in front of
the options it is given (a later option wins; for ``--data``, ``--scan`` and
``--denoiser-param`` a later KEY wins), runs the command in a fresh process
and then prints what the command does not: the kNN-CMI scan, the held-out
gap table, the schedules, the cost per schedule, the quality against the
spread of the all-global sample sets and, for repeated schedules
(``--repeat-schedule``), the paired comparison with all-global (also drawn as
``OUT/repeats.png``). The first lines of the output are the provenance
(``markovphase.provenance``: this command, the full ``markovphase sample``
command it ran, the git commit, the package versions).

Defaults (small budgets for 2 shared CPU cores: the networks are undertrained,
so absolute quality is poor; the comparison between schedules is what this
measures): the 27x27 crop, 2000 training images, 500 samples per schedule,
width-16 networks trained for 8 epochs, Heun with 20 steps, the schedule
derived from a kNN-CMI scan of 1000 training images (t = 0.1, 0.2, 0.3, 0.5,
0.7, 0.9; r = 1, 2, 3) at 0.005 nats, and ``derived-gap`` from radii 1 and 3
at t = 0.05, 0.10, ..., 0.95.

The MNIST image file is ``--data path=FILE`` or, when that is not given, the
environment variable ``MARKOVPHASE_MNIST`` (written into the command it runs,
so the recorded command is complete). ``--threads N`` (this script's only own
option, default 1) sets the command's ``OMP_NUM_THREADS``. Usage::

    python benchmarks/hybrid_mnist.py --out hybrid-report \\
        --data path=t10k-images-idx3-ubyte.gz [markovphase sample options] > result.txt
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from paired_runs import KEY, paired_against, set_columns

from markovphase import provenance
from markovphase.schedule import LocalitySchedule

#: markovphase sample options this benchmark starts from (later options override them)
DEFAULTS = [
    "--dataset", "mnist", "--data", "crop=27", "--n-train", "2000", "--n-samples", "500",
    "--denoiser-param", "epochs=8", "--denoiser-param", "width=16", "--steps", "20",
    "--method", "heun", "--tolerance", "0.005", "--scan", "cmi=knn", "--scan", "radii=(1,2,3)",
    "--scan", "n_scan=1000", "--scan", "times=(0.1,0.2,0.3,0.5,0.7,0.9)",
    "--gap-radii", "1,3", "--gap-times", "0.05:0.95:0.05",
]


def option_values(args: list[str], option: str) -> list[str]:
    """The values given to ``option`` in ``args`` (``--opt V`` or ``--opt=V``), in order."""
    out = []
    for i, a in enumerate(args):
        if a == option and i + 1 < len(args):
            out.append(args[i + 1])
        elif a.startswith(option + "="):
            out.append(a.split("=", 1)[1])
    return out


def sample_arguments(argv: list[str], env=os.environ) -> tuple[list[str], int]:
    """The ``markovphase sample`` arguments (defaults, then ``argv``) and ``--threads``."""
    threads = option_values(argv, "--threads")
    args = [a for i, a in enumerate(argv) if not (
        a == "--threads" or a.startswith("--threads=") or (i and argv[i - 1] == "--threads"))]
    if (not any(v.startswith("path=") for v in option_values(args, "--data"))
            and env.get("MARKOVPHASE_MNIST")):
        args += ["--data", f"path={os.path.abspath(env['MARKOVPHASE_MNIST'])}"]
    return [*DEFAULTS, *args], int(threads[-1]) if threads else 1


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args, threads = sample_arguments(argv)
    out = option_values(args, "--out")
    if not out:
        raise SystemExit("hybrid_mnist.py: --out DIR is required (markovphase sample's output)")
    print(provenance.header(provenance.record()), end="")
    print("# runs: " + provenance.command_line(["markovphase", "sample", *args], "markovphase"),
          flush=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    proc = subprocess.run([sys.executable, "-m", "markovphase", "sample", *args], env=env)
    if proc.returncode:
        raise SystemExit(proc.returncode)
    report(Path(out[-1]))


def report(out: Path) -> None:
    """Print the tables of a finished ``markovphase sample`` run in ``out``."""
    pd.set_option("display.width", 180)
    pd.set_option("display.max_columns", 20)
    result = json.loads((out / "result.json").read_text())
    print("\nfit seconds:", {k: round(v, 1) for k, v in result["fit_seconds"].items()})
    schedules = {p.stem: LocalitySchedule.from_json(p)
                 for p in sorted((out / "schedules").glob("*.json"))}
    if (out / "scan.csv").exists():
        scan = pd.read_csv(out / "scan.csv")
        print("\nCMI scan of the training rows (nats), rows t, columns r:")
        print(scan.pivot(index="t", columns="r", values="value").round(4).to_string())
        if "derived" in schedules:
            print("transition window:", schedules["derived"].metadata.get("transition_window"))
    if (out / "gap.csv").exists():
        gt = pd.read_csv(out / "gap.csv")
        print("\nheld-out excess MSE of the local networks over the global one, relative to the "
              "global MSE (rel_gap), to what the global network explains beyond the mean "
              "(rel_explained), and weighted as one sampler step hands it on, in units of "
              "the data variance (weighted_gap):")
        measures = [m for m in ("rel_gap", "rel_explained", "weighted_gap") if m in gt]
        wide_gap = pd.concat({m: gt.pivot(index="t", columns="r", values=m)
                              for m in measures}, axis=1)
        wide_gap[("global_mse", "")] = gt.groupby("t").global_mse.first()
        print(wide_gap.to_string(float_format=lambda v: f"{v:.4g}"))
    print("\nschedules:")
    for name, s in schedules.items():
        print(f"  {name:<20} {s}")
    summary = pd.read_csv(out / "summary.csv")
    print("\ncost per schedule:")
    print(summary.drop(columns=["schedule_text"]).round(4).to_string(index=False))
    m = pd.read_csv(out / "metrics.csv")
    wide = m.pivot_table(index="metric", columns="schedule", values="generated")
    wide["baseline (held-out real)"] = m.groupby("metric")["baseline"].first()
    print("\nquality (generated vs real; last column: held-out real vs real):")
    print(wide.round(4).to_string())
    compare(wide, summary.set_index("schedule"), out)


def compare(wide: pd.DataFrame, summary: pd.DataFrame, out: Path) -> None:
    """Each schedule against all-global: FLOPs, metric differences, the all-global spread."""
    if "all-global" not in wide.columns:
        return
    reps = set_columns(wide, "all-global")
    if len(reps) > 1:
        spread = wide[reps].max(axis=1) - wide[reps].min(axis=1)
        print(f"\nsame-distribution spread: range over {len(reps)} independent all-global "
              "sample sets; |held-out real #2 - held-out real #1| (same n):")
        cols = [spread.rename("all-global range")]
        if "held-out-real#2" in wide.columns:
            cols.append((wide["held-out-real#2"] - wide["baseline (held-out real)"]).abs()
                        .rename("real #2 - real #1"))
        print(pd.concat(cols, axis=1).round(4).to_string())
    names = [n for n in summary.index if n != "all-global"]
    for name in names:
        print(f"{name} / all-global FLOPs: {summary.loc[name, 'flops_vs_all_global']:.3f}"
              + (" (acceptance target <= 0.25)" if name.startswith("derived") else ""))
    diffs = [(wide[n] - wide["all-global"]).rename(f"{n} - all-global") for n in names]
    print(pd.concat([*diffs, wide["baseline (held-out real)"]], axis=1).round(4).to_string())
    if len(reps) < 2:
        return
    lo, hi = wide[reps].min(axis=1), wide[reps].max(axis=1)
    print(f"\nwithin the range of the {len(reps)} all-global sets [min, max] "
          "(the same-distribution noise at this n)?")
    key = [k for k in KEY if k in wide.index]
    verdict = pd.DataFrame({n: [_verdict(k, wide.loc[k, n], lo[k], hi[k]) for k in key]
                            for n in names}, index=key)
    verdict.insert(0, "all-global [min, max]", [f"[{lo[k]:.4f}, {hi[k]:.4f}]" for k in key])
    print(verdict.to_string())
    repeated = [n for n in names if f"{n}#2" in wide.columns]
    paired = paired_against(wide, repeated, key)
    if paired is not None:
        print(f"\nrepeated sets ({len(reps)} seeds, set k of each schedule starts from "
              "the noise of all-global set k; A = all-global, B = the schedule):")
        print(paired.to_string())
        _plot_repeats(wide, repeated, key).savefig(out / "repeats.png", dpi=120)
    print(f"\nwritten to {out.resolve()}")


def _plot_repeats(wide, names, key):
    """One panel per metric: each schedule's sets as points, pairs (same starting
    noise) joined by grey lines, the all-global [min, max] shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = ["all-global", *names]
    fig, axes = plt.subplots(1, len(key), figsize=(3.2 * len(key), 3.4), squeeze=False)
    for ax, k in zip(axes[0], key, strict=True):
        vals = [wide.loc[k, set_columns(wide, n)].to_numpy() for n in order]
        ax.axhspan(vals[0].min(), vals[0].max(), color="0.9", zorder=0)
        m = min(len(v) for v in vals)
        ax.plot(np.arange(len(order)), np.array([v[:m] for v in vals]), color="0.7", lw=0.6)
        for i, v in enumerate(vals):
            ax.plot(np.full(len(v), i), v, "o", ms=4)
            ax.plot([i - 0.25, i + 0.25], [v.mean()] * 2, "k-", lw=2)
        ax.set_xticks(range(len(order)), order, rotation=30, ha="right", fontsize=8)
        ax.set_title(k, fontsize=9)
    fig.suptitle("sets of each schedule (lines: same starting noise; band: all-global range)",
                 fontsize=9)
    fig.tight_layout()
    return fig


def _verdict(metric, value, lo, hi) -> str:
    """``value`` and whether it lies in the all-global range [lo, hi]: "yes", "better"
    (outside on the good side: lower distance, higher confidence) or "no"."""
    if lo <= value <= hi:
        word = "yes"
    elif (value > hi) if metric == "confidence" else (value < lo):
        word = "better"
    else:
        word = "no"
    return f"{value:.4f} {word}"


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
