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
before any sample is drawn: at each t of ``--gap-times`` (0.05, 0.10, ..., 0.95)
the smallest radius in ``--gap-radii`` whose held-out excess x0-MSE over the
global network, on rows outside the training and baseline sets, is
``<= --gap-tolerance``, else global. ``--gap-measure rel_gap`` divides the excess
by the global MSE; ``rel_explained`` by what the global network explains beyond
the mean (``prior MSE - global MSE``), which does not vanish at high noise where
both MSEs approach the prior (see ``markovphase.sample_cli.denoiser_gap``).
Several comma-separated tolerances add ``derived-gap@TOL`` schedules. ``--center`` removes
the per-pixel mean; ``--position-channels m`` gives the local networks a learnable
per-site embedding and output bias (the receptive radius stays exact) so they can
represent MNIST's position-dependent statistics. ``--global-repeats k`` samples
all-global k more times from independent noise and scores a second held-out real
set: the printed spread is the same-distribution noise of each metric at this n.

``--global-param KEY=VALUE`` sizes the global network on its own (the local
networks stay small: that is the point of a hybrid schedule); ``--model-dir``
keeps trained networks, keyed by data and parameters, so a second run with other
schedules or tolerances skips training; ``--time-spacing quadratic`` (or ``cubic``, or
a power rho) puts the sampler's steps nearer the data (the same grid for every
schedule). ``--repeat-schedules NAME,...`` samples those schedules with the seeds of
the all-global repeats, so set k of each starts from the same noise: the printed
paired differences (and ``repeats.png``) separate a schedule's effect from the
draw-to-draw noise of the metrics; ``--sample-seed`` draws fresh sets from the same
cached networks.

Small budgets by default (2 shared CPU cores): the networks are undertrained,
so absolute quality is poor; the comparison between schedules is what this
measures. Usage::

    .venv/bin/python benchmarks/hybrid_mnist.py --out /tmp/hybrid-mnist \\
        [--mnist ../shared/data/mnist/t10k-images-idx3-ubyte.gz] [--epochs 8] \\
        [--center --position-channels 4 --no-derive --global-repeats 2]

The run recorded in ``benchmarks/results/hybrid_mnist_quadratic.txt`` (training,
one core per network: 41 min for the global U-Net, 7 to 17 min for each local
network; then 352 s for the gap table, sampling and metrics on 2 threads)::

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/hybrid_mnist.py --center \
        --position-channels 4 --no-derive --n-train 8000 --n-samples 500 --epochs 60 \
        --width 16 --global-param width=32 --global-param epochs=25 \
        --global-param learning_rate=1e-3 --global-param max_grad_norm=1.0 --steps 20 \
        --time-spacing quadratic --gap-measure rel_explained --gap-tolerance 0.10,0.05,0.15 \
        --gap-radii 1,2,3,5 --global-repeats 4 --model-dir models --threads 2 \
        --presets local-global-local,global-local-global,all-local,all-global

The cubic-grid runs reuse those networks (``--model-dir``):

- ``hybrid_mnist_cubic.txt`` and ``_samples.png``: every preset and four
  tolerances, sample seeds 100-109;
- ``hybrid_mnist_cubic_paired.txt`` and ``_repeats.png``: the two cheapest derived
  schedules paired with all-global over seeds 200-209;
- ``hybrid_mnist_quadratic_control.txt``: all-global on the quadratic grid, seeds
  200-209 (compared with ``benchmarks/paired_runs.py``).

They change only::

    --time-spacing cubic --gap-tolerance 0.025,0.05,0.10,0.01 --global-repeats 9 \
        --sample-seed 100
    --time-spacing cubic --gap-tolerance 0.025,0.05 --global-repeats 9 --sample-seed 200 \
        --repeat-schedules derived-gap,derived-gap@0.05 --presets all-global
    --time-spacing quadratic --gap-radii "" --global-repeats 9 --sample-seed 200 \
        --presets all-global
"""

from __future__ import annotations

import argparse
import os
import time

import click
import numpy as np
import pandas as pd
from paired_runs import KEY, paired_table, set_columns

from markovphase.sample_cli import _parse_kv, parse_time_spacing, run_experiment

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
    p.add_argument("--gap-tolerance", default="0.05",
                   help="relative excess MSE allowed for the schedule derived from the networks; "
                        "several (comma-separated) add derived-gap@TOL for the others")
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
    p.add_argument("--repeat-schedules", default="", metavar="NAME,NAME",
                   help="schedules sampled --global-repeats more times with the all-global "
                        "sets' seeds (paired: set k of each starts from the same noise)")
    p.add_argument("--local-param", action="append", default=[], metavar="KEY=VALUE",
                   help="extra parameter of the local networks (repeatable), e.g. t_max=0.5 "
                        "to train them only where a schedule uses them; shared with the global "
                        "network unless --global-param overrides it")
    p.add_argument("--global-param", action="append", default=[], metavar="KEY=VALUE",
                   help="override for the global network only (repeatable), e.g. width=32, "
                        "epochs=25, learning_rate=1e-3, max_grad_norm=1.0")
    p.add_argument("--gap-measure", default="rel_gap", choices=["rel_gap", "rel_explained"],
                   help="what --gap-tolerance bounds (see markovphase.sample_cli.denoiser_gap)")
    p.add_argument("--time-spacing", default="uniform", type=_spacing,
                   help="sampler time grid: uniform, quadratic, cubic or a power rho >= 1")
    p.add_argument("--sample-seed", type=int, default=None,
                   help="seed of the samplers' starting noise (default 0, the split's seed); "
                        "a new value draws fresh sample sets from the same cached networks")
    p.add_argument("--schedule", action="append", default=[], metavar="NAME=PATH",
                   help="extra hand-written schedule (LocalitySchedule JSON), repeatable")
    p.add_argument("--gap-times", default=",".join(f"{t:.2f}" for t in np.arange(0.05, 0.96, 0.05)),
                   help="times at which the gap-derived schedule compares local and global")
    p.add_argument("--model-dir", default=None,
                   help="cache of trained networks (reused when data and parameters match)")
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
                         "position_channels": args.position_channels,
                         **_parse_kv(args.local_param)},
        steps=args.steps, method="heun", center=args.center,
        gap_radii=tuple(int(r) for r in args.gap_radii.split(",") if r.strip()),
        gap_tolerance=tuple(float(x) for x in args.gap_tolerance.split(",")),
        n_global_repeats=args.global_repeats,
        repeat_schedules=tuple(n for n in args.repeat_schedules.split(",") if n),
        gap_times=tuple(float(t) for t in args.gap_times.split(",")),
        global_denoiser_params=_parse_kv(args.global_param),
        schedules=dict(item.split("=", 1) for item in args.schedule),
        model_dir=args.model_dir, gap_measure=args.gap_measure,
        time_spacing=args.time_spacing,
        random_state=0, sample_random_state=args.sample_seed, verbose=0, out_dir=args.out)
    total = time.perf_counter() - t0
    pd.set_option("display.width", 180)
    pd.set_option("display.max_columns", 20)
    print(f"MNIST 27x27, n_train={args.n_train}, n_samples={args.n_samples}, "
          f"epochs={args.epochs}, width={args.width}, "
          f"global overrides={_parse_kv(args.global_param)}, Heun steps={args.steps}, "
          f"center={args.center}, position_channels={args.position_channels}, "
          f"time spacing={args.time_spacing}, gap measure={args.gap_measure}, "
          f"sample seed={args.sample_seed}; "
          f"total {total:.0f} s")
    print("fit seconds:", {k: round(v, 1) for k, v in res["fit_seconds"].items()})
    if res["scan"] is not None:
        print("\nkNN CMI scan (nats), rows t, columns r:")
        print(res["scan"].cmi_table().round(4).to_string())
        print("transition window:", res["scan"].transition_window_)
    if res["gap"] is not None:
        gt = res["gap"]
        print("\nheld-out excess MSE of the local networks over the global one, relative to the "
              "global MSE (rel_gap) and to what the global network explains beyond the mean "
              "(rel_explained):")
        wide_gap = pd.concat({m: gt.pivot(index="t", columns="r", values=m)
                              for m in ("rel_gap", "rel_explained")}, axis=1)
        wide_gap[("global_mse", "")] = gt.groupby("t").global_mse.first()
        print(wide_gap.round(4).to_string())
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
    reps = set_columns(wide, "all-global") if "all-global" in wide.columns else []
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
    names = [n for n in res["schedules"] if n != "all-global"]
    for name in names:
        if name in s.index:
            print(f"{name} / all-global FLOPs: {s.loc[name, 'flops_vs_all_global']:.3f}"
                  + (" (acceptance target <= 0.35)" if name.startswith("derived") else ""))
            cols.append((wide[name] - wide["all-global"]).rename(f"{name} - all-global"))
    print(pd.concat([*cols, wide["baseline (held-out real)"]], axis=1).round(4).to_string())
    if len(reps) > 1:
        lo, hi = wide[reps].min(axis=1), wide[reps].max(axis=1)
        print(f"\nwithin the range of the {len(reps)} all-global sets [min, max] "
              "(the same-distribution noise at this n)?")
        key = [k for k in KEY if k in wide.index]
        verdict = pd.DataFrame({n: [_verdict(k, wide.loc[k, n], lo[k], hi[k]) for k in key]
                                for n in names if n in wide.columns}, index=key)
        verdict.insert(0, "all-global [min, max]",
                       [f"[{lo[k]:.4f}, {hi[k]:.4f}]" for k in key])
        print(verdict.to_string())
        repeated = [n for n in names if f"{n}#2" in wide.columns]
        paired = _paired_table(wide, repeated, key)
        if paired is not None:
            print(f"\nrepeated sets ({len(reps)} seeds, set k of each schedule starts from "
                  "the noise of all-global set k; A = all-global, B = the schedule):")
            print(paired.to_string())
            fig = _plot_repeats(wide, repeated, key)
            fig.savefig(os.path.join(args.out, "repeats.png"), dpi=120)
    print(f"\nwritten to {os.path.abspath(args.out)}")
    return res


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


def _paired_table(wide, names, key):
    """Per repeated schedule (B) against all-global (A, the same seeds):
    :func:`paired_runs.paired_table` of their sets."""
    if not names:
        return None
    ref = wide.loc[key, set_columns(wide, "all-global")]
    return pd.concat({n: paired_table(ref, wide.loc[key, set_columns(wide, n)]) for n in names},
                     names=["schedule"])


def _spacing(value):
    try:
        return parse_time_spacing(value)
    except click.BadParameter as e:
        raise argparse.ArgumentTypeError(e.message) from None


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
