"""MNIST phase diagram: neural, MINE and Gaussian CMI maps side by side with the authors'.

Reads the JSON written by ``benchmarks/mnist_neural_map.py`` (one for
``--estimator neural``, optionally one for ``--estimator mine``), or computes
them when missing (about 10-15 minutes each on two CPU cores)::

    python benchmarks/mnist_neural_map.py --out mnist_neural_map.json
    python benchmarks/mnist_neural_map.py --estimator mine --out mnist_mine_map.json
    python examples/mnist_phase_diagram.py --neural mnist_neural_map.json \
        --mine mnist_mine_map.json --figure mnist_phase_diagram.png

It prints CMI(r = 1) and I(A;BC) against t for the three estimators next to
the values the authors report (Hu et al. 2025: a single bump of CMI(r = 1) at
t ~ 0.3 of about 0.17 nats, ~0 for t >= 0.7; I(A;BC) ~ 1.05, 0.42, 0.11 at
t = 0, 0.3, 0.5), and states -- from the numbers, with the error bars --
where they agree and where they differ.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
AUTHORS_I_ABC = {0.0: 1.05, 0.3: 0.42, 0.5: 0.11}
AUTHORS_R1 = dict(peak_t=0.3, peak=0.17, zero_from=0.7)


def load_or_run(path: str | None, estimator: str, data: str):
    if path and os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    if path is None:
        return None
    cmd = [sys.executable, os.path.join(HERE, "..", "benchmarks", "mnist_neural_map.py"),
           "--estimator", estimator, "--path", data, "--out", path, "--verbose", "0"]
    subprocess.run(cmd, check=True)
    with open(path) as f:
        return json.load(f)


def peak(times, values):
    k = int(np.nanargmax(values))
    return times[k], values[k]


def describe(name, m):
    """Statements about one map, derived from its numbers."""
    times = m["times"]
    r1 = np.array([row[0] for row in m["value"]])
    se = np.array([row[0] for row in m["stderr"]])
    tp, vp = peak(times, r1)
    k = times.index(tp)
    interior = 0 < k < len(times) - 1
    # a bump: an interior peak above the t = 0 value by more than 2 combined stderr
    above = vp - r1[0] > 2 * np.hypot(se[k], se[0])
    if not interior:
        kind = " (at the end of the range: no bump)"
    elif vp <= max(0.01, 2 * se[k]):
        kind = " (interior maximum below max(0.01, 2 stderr): no clear bump)"
    elif above:
        kind = " (an interior bump, significantly above t = 0)"
    else:
        kind = " (interior maximum, but not significantly above the t = 0 value: no clear bump)"
    out = [f"{name}: CMI(r=1) peaks at t = {tp:.1f} with {vp:.3f} ± {se[k]:.3f} nats" + kind]
    zero = [t for t, v, s in zip(times, r1, se, strict=True) if abs(v) <= max(2 * s, 0.01)]
    if zero:
        out.append(f"  consistent with 0 (|CMI| <= max(2 stderr, 0.01)) at t = {zero}")
    dec = [t for t, row in zip(times, m["value"], strict=True)
           if np.all(np.diff(np.array(row)[:4]) <= 0.01)]
    out.append(f"  CMI non-increasing in r (r = 1..4, 0.01 slack) at {len(dec)}/{len(times)} times")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neural", default="mnist_neural_map.json")
    ap.add_argument("--mine", default=None)
    ap.add_argument("--data", default=os.path.join(HERE, "..", "..", "shared", "data", "mnist",
                                                   "t10k-images-idx3-ubyte.gz"))
    ap.add_argument("--figure", default=None)
    args = ap.parse_args(argv)

    neural = load_or_run(args.neural, "neural", args.data)
    mine = load_or_run(args.mine, "mine", args.data)
    times = neural["times"]
    gauss = dict(times=times, value=neural["gaussian"],
                 stderr=[[0.0] * len(r) for r in neural["gaussian"]],
                 i_abc=neural["gaussian_i_abc"])
    maps = {"neural": neural, "Gaussian": gauss}
    if mine:
        maps["MINE"] = mine

    print("CMI(A;C|B(r=1)) in nats (± held-out stderr)")
    print(f"{'t':>4} " + " ".join(f"{k:>16}" for k in maps) + f" {'authors':>10}")
    for i, t in enumerate(times):
        cells = []
        for m in maps.values():
            cells.append(f"{m['value'][i][0]:8.4f}±{m['stderr'][i][0]:6.4f}")
        auth = "~0.17 peak" if abs(t - AUTHORS_R1["peak_t"]) < 1e-9 else (
            "~0" if t >= AUTHORS_R1["zero_from"] - 1e-9 else "")
        print(f"{t:4.1f} " + " ".join(f"{c:>16}" for c in cells) + f" {auth:>10}")
    print("\nI(A;BC) in nats")
    print(f"{'t':>4} " + " ".join(f"{k:>10}" for k in maps) + f" {'authors':>10}")
    for i, t in enumerate(times):
        vals = " ".join(f"{m['i_abc'][i]:10.3f}" for m in maps.values())
        a = AUTHORS_I_ABC.get(round(t, 1))
        print(f"{t:4.1f} {vals} {'' if a is None else f'{a:10.2f}'}")

    print("\nWhat the numbers say:")
    for name, m in maps.items():
        for line in describe(name, m):
            print(line)
    print(f"authors (MINE, training-batch averages, max of 3 runs): CMI(r=1) bump at t ~ "
          f"{AUTHORS_R1['peak_t']} of ~{AUTHORS_R1['peak']} nats, "
          f"~0 for t >= {AUTHORS_R1['zero_from']}")
    for t, a in AUTHORS_I_ABC.items():
        i = times.index(t)
        parts = [f"{name} {m['i_abc'][i]:.3f}" for name, m in maps.items()]
        print(f"I(A;BC) at t = {t}: authors {a:.2f} vs " + ", ".join(parts))

    if args.figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, len(maps) + 1, figsize=(4.2 * (len(maps) + 1), 3.6))
        for ax, (name, m) in zip(axes, maps.items(), strict=False):
            v = np.array(m["value"])
            im = ax.imshow(v.T, origin="lower", aspect="auto", cmap="viridis",
                           extent=[-0.05, 1.05, 0.5, v.shape[1] + 0.5])
            ax.set(title=f"{name} I(A;C|B(r))", xlabel="t", ylabel="r")
            fig.colorbar(im, ax=ax)
        ax = axes[-1]
        for name, m in maps.items():
            ax.errorbar(times, [row[0] for row in m["value"]], [row[0] for row in m["stderr"]],
                        label=name, marker="o", ms=3)
        ax.axvline(AUTHORS_R1["peak_t"], ls=":", c="k")
        ax.plot([AUTHORS_R1["peak_t"]], [AUTHORS_R1["peak"]], "k*", ms=10, label="authors' peak")
        ax.set(xlabel="t", ylabel="CMI(r=1) [nats]", title="r = 1")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(args.figure, dpi=120)
        print(f"figure written to {args.figure}")


if __name__ == "__main__":
    main()
