"""The paper's schedule experiment on MNIST: quality, FLOPs and wall time per schedule.

Four preset schedules (local r = 3 on t in [0, 0.2) and [0.5, 1], global on
[0.2, 0.5): local-global-local; its reverse; all-local; all-global) plus the
schedule derived from a kNN-CMI PhaseScan of the training images, all sampled
from the same starting noise with the same trained networks (a GlobalDenoiser
and LocalDenoisers with exact receptive radii), Heun, ``--steps`` steps.

Quality: a classifier (sklearn MLP) trained on the real training images gives
label entropy / confidence / class balance and the features for the Fréchet
distance and kernel MMD; a PCA Fréchet distance and a nearest-neighbour
memorisation check; every metric is printed next to its baseline (held-out
real images in place of the samples, same count).

The schedule ``derived-gap`` comes from the fitted networks themselves, fixed
before any sample is drawn: at each t in 0.1, 0.2, ..., 0.9 the smallest radius
in ``--gap-radii`` whose held-out relative excess x0-MSE over the global network,
``(MSE_r - MSE_global) / MSE_global`` on rows outside the training and baseline
sets, is ``<= --gap-tolerance`` (default 5 %), else global. ``--center`` removes
the per-pixel mean; ``--position-channels m`` gives the local networks a learnable
per-site embedding and output bias (the receptive radius stays exact) so they can
represent MNIST's position-dependent statistics. ``--global-repeats k`` samples
all-global k more times from independent noise and scores a second held-out real
set: the printed spread is the same-distribution noise of each metric at this n.

Small budgets by default (2 shared CPU cores): the networks are undertrained,
so absolute quality is poor; the comparison between schedules is what this
measures. Usage::

    .venv/bin/python benchmarks/hybrid_mnist.py --out /tmp/hybrid-mnist \\
        [--mnist ../shared/data/mnist/t10k-images-idx3-ubyte.gz] [--epochs 8] \\
        [--center --position-channels 4 --no-derive --global-repeats 2]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

from markovphase.sample_cli import run_experiment

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MNIST = os.path.join(HERE, "..", "..", "shared", "data", "mnist",
                             "t10k-images-idx3-ubyte.gz")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mnist", default=os.environ.get("MARKOVPHASE_MNIST", DEFAULT_MNIST))
    p.add_argument("--out", default="hybrid-mnist-report")
    p.add_argument("--n-train", type=int, default=2000)
    p.add_argument("--n-samples", type=int, default=500)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--tolerance", type=float, default=0.005,
                   help="kNN CMI tolerance (nats) of the derived schedule")
    p.add_argument("--n-scan", type=int, default=1000)
    p.add_argument("--no-derive", action="store_true")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--gap-tolerance", type=float, default=0.05,
                   help="relative excess MSE allowed for the schedule derived from the networks")
    p.add_argument("--center", action="store_true",
                   help="fit every denoiser on per-pixel centred images (CenteredDenoiser)")
    p.add_argument("--position-channels", type=int, default=0,
                   help="per-site learnable embedding channels (+ per-site output bias) of the "
                        "local networks; 0 keeps them translation-equivariant")
    p.add_argument("--gap-radii", default="1,3",
                   help="radii of the local networks the gap-derived schedule may use")
    p.add_argument("--presets", default="local-global-local,global-local-global,all-local,"
                   "all-global", help="comma-separated preset schedules")
    p.add_argument("--global-repeats", type=int, default=0,
                   help="extra independent all-global sample sets (and a second held-out real "
                        "set) to measure the metrics' same-distribution spread")
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    res = run_experiment(
        "mnist", {"path": args.mnist, "crop": 27}, n_train=args.n_train,
        n_samples=args.n_samples, radius=3, window=(0.2, 0.5), derive=not args.no_derive,
        scan_params={"cmi": "knn", "radii": (1, 2, 3), "n_scan": args.n_scan,
                     "times": (0.1, 0.2, 0.3, 0.5, 0.7, 0.9)},
        tolerance=args.tolerance, denoiser="network",
        presets=tuple(args.presets.split(",")),
        denoiser_params={"epochs": args.epochs, "width": args.width,
                         "position_channels": args.position_channels},
        steps=args.steps, method="heun", center=args.center,
        gap_radii=tuple(int(r) for r in args.gap_radii.split(",")),
        gap_tolerance=args.gap_tolerance, n_global_repeats=args.global_repeats,
        random_state=0, verbose=0, out_dir=args.out)
    total = time.perf_counter() - t0
    pd.set_option("display.width", 180)
    pd.set_option("display.max_columns", 20)
    print(f"MNIST 27x27, n_train={args.n_train}, n_samples={args.n_samples}, "
          f"epochs={args.epochs}, width={args.width}, Heun steps={args.steps}, "
          f"center={args.center}, position_channels={args.position_channels}; "
          f"total {total:.0f} s")
    print("fit seconds:", {k: round(v, 1) for k, v in res["fit_seconds"].items()})
    if res["scan"] is not None:
        print("\nkNN CMI scan (nats), rows t, columns r:")
        print(res["scan"].cmi_table().round(4).to_string())
        print("transition window:", res["scan"].transition_window_)
    if res["gap"] is not None:
        print("\nrelative excess held-out MSE of the local networks over the global one:")
        print(res["gap"].pivot(index="t", columns="r", values="rel_gap").round(4).to_string())
    print("\nschedules:")
    for name, s in res["schedules"].items():
        print(f"  {name:<20} {s}")
    print("\ncost per schedule:")
    print(res["summary"].drop(columns=["schedule_text"]).round(4).to_string(index=False))
    m = res["metrics"]
    wide = m.pivot_table(index="metric", columns="schedule", values="generated")
    wide["baseline (held-out real)"] = m.groupby("metric")["baseline"].first()
    print("\nquality (generated vs real; last column: held-out real vs real):")
    print(wide.round(4).to_string())
    reps = [c for c in wide.columns if str(c).startswith("all-global")]
    if len(reps) > 1:
        spread = wide[reps].max(axis=1) - wide[reps].min(axis=1)
        real = wide.get("held-out-real#2")
        print(f"\nsame-distribution spread: range over {len(reps)} independent all-global "
              "sample sets; |held-out real #2 - held-out real #1| (same n):")
        cols_s = [spread.rename("all-global range")]
        if real is not None:
            cols_s.append((real - wide["baseline (held-out real)"]).abs()
                          .rename("real #2 - real #1"))
        print(pd.concat(cols_s, axis=1).round(4).to_string())
    s = res["summary"].set_index("schedule")
    cols = []
    for name in ("derived", "derived-gap", "local-global-local", "all-local"):
        if name in res["schedules"]:
            print(f"{name} / all-global FLOPs: {s.loc[name, 'flops_vs_all_global']:.3f} "
                  "(acceptance target for a derived schedule <= 0.35)")
            cols.append((wide[name] - wide["all-global"]).rename(f"{name} - all-global"))
    print(pd.concat([*cols, wide["baseline (held-out real)"]], axis=1).round(4).to_string())
    print(f"\nwritten to {os.path.abspath(args.out)}")
    return res


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
