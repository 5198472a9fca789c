"""The scan -> schedule -> sample pipeline on a Gaussian free field, with exact denoisers.

Runs the product's own commands: ``markovphase scan`` twice (schedule criterion
``cmi`` at ``--cmi-tolerance`` nats, and ``weighted`` at ``--weighted-tolerance``),
then ONE ``markovphase sample`` with both scan schedules, the gap-derived
weighted schedule (``--gap-measure weighted_gap``) and all-global, every schedule
sampled ``1 + --repeats`` times from the same starting noises (paired seeds).
The denoisers are Wiener filters of the exact covariance (``--denoiser linear``),
so all-global is the exact probability-flow sampler and any loss of quality is
the schedule's. Prints, per schedule: FLOPs against all-global, and per metric
the mean (sd) over the sets, the paired difference to all-global (mean, and in
units of all-global's sd), and whether the mean lies in all-global's [min, max].

Writes OUT/scan-cmi, OUT/scan-weighted, OUT/sample (the commands' reports) and
OUT/hybrid_field.txt (the table with provenance). Usage::

    python benchmarks/hybrid_field.py --out docs/hybrid-sampling
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import numpy as np
import pandas as pd

from markovphase import provenance


def run(args):
    print("$", " ".join(args), flush=True)
    subprocess.run(args, check=True)


def paired_table(sample_dir: str) -> str:
    summary = pd.read_csv(os.path.join(sample_dir, "summary.csv")).set_index("schedule")
    m = pd.read_csv(os.path.join(sample_dir, "metrics.csv"))
    m = m.assign(base=m.schedule.str.split("#").str[0],
                 k=m.schedule.str.split("#").str[1].fillna("1"))
    lines = []
    for name in summary.index:
        lines.append(f"{name}: {summary.schedule_text[name]}")
        lines.append(f"  FLOPs vs all-global {summary.flops_vs_all_global[name]:.3f}, global "
                     f"calls {summary.global_call_fraction[name]:.3f}")
        for metric, g in m.groupby("metric"):
            ref = g[g.base == "all-global"].set_index("k").generated
            own = g[g.base == name].set_index("k").generated
            if own.empty:
                continue
            d = own - ref.loc[own.index]
            inside = ref.min() <= own.mean() <= ref.max()
            lines.append(
                f"  {metric:22s} mean {own.mean():.4f} (sd {own.std():.4f}, {len(own)} sets)"
                f"  paired diff {d.mean():+.4f} (se {d.std() / np.sqrt(len(d)):.4f}) = "
                f"{d.mean() / ref.std():+.2f} sd(all-global); mean in all-global range: "
                f"{'yes' if inside else 'NO'}")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/hybrid-sampling")
    ap.add_argument("--shape", default="8,8")
    ap.add_argument("--mass", default="0.3")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--cmi-tolerance", default="0.005")
    ap.add_argument("--weighted-tolerance", default="1e-4")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--n-train", default="1000")
    ap.add_argument("--n-samples", default="400")
    a = ap.parse_args(argv)
    mp = [sys.executable, "-m", "markovphase"]
    field = ["--dataset", "gaussian-field", "--shape", a.shape, "--mass", a.mass]
    scans = {}
    for crit, tol in (("cmi", a.cmi_tolerance), ("weighted", a.weighted_tolerance)):
        scans[crit] = os.path.join(a.out, f"scan-{crit}")
        run(mp + ["scan", "-q", *field, "--radii", "1:3", "--out", scans[crit], "--force",
                  "--schedule-criterion", crit, "--schedule-tolerance", tol,
                  "--schedule-steps", str(a.steps)])
    sample_dir = os.path.join(a.out, "sample")
    run(mp + ["sample", "-q", "--dataset", "gaussian-field", "--data", f"shape={a.shape}",
              "--data", f"mass={a.mass}", "--preset", "all-global", "--no-derive",
              "--denoiser", "linear", "--schedule",
              f"scan-cmi={os.path.join(scans['cmi'], 'schedule.json')}", "--schedule",
              f"scan-weighted={os.path.join(scans['weighted'], 'schedule.json')}",
              "--gap-radii", "1,2,3", "--gap-times", "0.05:0.95:0.1", "--gap-measure",
              "weighted_gap", "--gap-tolerance", a.weighted_tolerance,
              "--global-repeats", str(a.repeats), "--repeat-schedule", "scan-cmi",
              "--repeat-schedule", "scan-weighted", "--repeat-schedule", "derived-gap",
              "--steps", str(a.steps), "--n-train", a.n_train, "--n-samples", a.n_samples,
              "--out", sample_dir])
    text = (provenance.header(provenance.record(command=provenance.command_line()))
            + paired_table(sample_dir) + "\n")
    print(text)
    with open(os.path.join(a.out, "hybrid_field.txt"), "w") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
