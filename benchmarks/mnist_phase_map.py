"""The MNIST phase diagram (issue 12, item 4): every estimator's (t, r) map, timed, and
MINE the authors' way next to the held-out way.

Data: the bundled MNIST test set, the paper's crop (``images[:, 1:, 1:] / 255``,
10,000 x 729), A = the centre pixel (13, 13) (original pixel (14, 14)), B(r) the
ring 1..r, C the rest (open borders), the linear path, t = 0, 0.1, ..., 1 and
r = 1..12.

Each ``--cmi NAME[:key=value,...]`` runs the product's own command in a child
process, ``markovphase scan --dataset mnist --crop 27 --cmi NAME --radii 1:12
--out OUT/NAME``, whose report (``results.json``, figures, cache) records the
command, commit and versions; its wall time and peak memory (the child's
``ru_maxrss``) are measured here. ``--mine-runs K`` adds MINE run the authors'
way (Hu et al.: the Donsker-Varadhan bound averaged over the training batches,
the max of K runs, for I(A;BC) and each I(A;B(r))) and the held-out way (the
same K critics evaluated on held-out rows, mean over the runs), at the times
``--mine-times``. ``OUT/mnist_phase_map.json`` holds everything, each entry with
the provenance of the run that made it (a later run into the same ``OUT``
replaces the entries it recomputes and keeps the others);
``OUT/mnist_phase_map.png`` draws it next to the authors' values.

Usage::

    OMP_NUM_THREADS=2 python benchmarks/mnist_phase_map.py --out docs/mnist-phase-diagram \\
        --cmi gaussian --cmi mixture --cmi neural --mine-runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from markovphase import provenance

#: the authors' MINE values (arXiv 2508.06614; issue 12): CMI(r=1) peak, I(A;BC)
AUTHORS_R1 = {"peak_t": 0.3, "peak": 0.17, "zero_from": 0.7}
AUTHORS_I_ABC = {0.0: 1.05, 0.3: 0.42, 0.5: 0.11}
TIMES = [round(0.1 * k, 1) for k in range(11)]
RADII = list(range(1, 13))


def run_scan(spec: str, out: Path, seed: int, quiet: bool) -> dict:
    """``markovphase scan`` on the paper's MNIST crop in a child process: its report,
    wall time and peak memory."""
    name, _, params = spec.partition(":")
    label = spec.replace(":", "_").replace(",", "_").replace("=", "")
    folder = out / label
    cmd = [sys.executable, "-m", "markovphase", "scan", "--dataset", "mnist", "--crop", "27",
           "--cmi", name, "--radii", "1:12", "--seed", str(seed), "--out", str(folder)]
    for kv in filter(None, params.split(",")):
        cmd += ["--cmi-param", kv]
    if quiet:
        cmd.append("-q")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed (exit {os.waitstatus_to_exitcode(status)})")
    doc = json.loads((folder / "results.json").read_text())
    return {"spec": spec, "command": " ".join(cmd[1:]), "wall_s": wall,
            "peak_rss_gib": usage.ru_maxrss / 2**20, "report": str(folder), "results": doc}


def mine_authors_way(times, runs: int, max_steps: int, seed: int) -> dict:
    """MINE the authors' way (training-batch bound, max of ``runs``) and held-out."""
    from markovphase import MINECMI, load_dataset
    from markovphase.diffusion import LinearPath, fixed_noise
    from markovphase.lattice import Lattice

    ds = load_dataset("mnist", crop=27)
    lat = Lattice(ds.lattice_shape, 1, periodic=False)
    regions = [lat.regions(lat.center, r) for r in RADII]
    noise = fixed_noise(*ds.X.shape, seed)
    batch, held, held_se, wall = [], [], [], []
    for k in range(runs):
        est = MINECMI(max_steps=max_steps, random_state=seed + k, verbose=1)
        t0 = time.perf_counter()
        res = est.evaluate_path(ds.X, noise, LinearPath(), times, regions, lattice=lat)
        wall.append(time.perf_counter() - t0)
        batch.append(est.batch_mask_terms_)  # (n_times, n_masks): B(1..12) then B u C
        held.append([[c.value for c in res[t]] for t in times])
        held_se.append([[c.stderr for c in res[t]] for t in times])
    best = np.nanmax(np.array(batch), axis=0)  # max of the runs, per MI term
    i_abc = best[:, -1]
    return {"times": list(times), "runs": runs, "max_steps": max_steps, "wall_s": wall,
            "authors_cmi": (i_abc[:, None] - best[:, :-1]).tolist(),
            "authors_i_abc": i_abc.tolist(),
            "held_out_cmi": np.mean(held, axis=0).tolist(),
            "held_out_cmi_stderr": (np.sqrt(np.sum(np.square(held_se), axis=0)) / runs).tolist()}


def table(doc: dict) -> str:
    """CMI(r = 1), CMI(r = 3) and I(A;BC) against t for every map."""
    lines = []
    for run in doc["scans"]:
        res = run["results"]
        rows = res["results"]
        head = (f"# {run['spec']}: wall {run['wall_s']:.0f} s, peak memory "
                f"{run['peak_rss_gib']:.2f} GiB, window {res.get('transition_window')}")
        lines += [head, f"{'t':>4} {'CMI r=1':>17} {'CMI r=3':>17} {'I(A;BC)':>17}"]
        for t in TIMES:
            cell = {r["r"]: r for r in rows if abs(r["t"] - t) < 1e-9}
            c1, c3 = cell[1], cell[3]
            lines.append(f"{t:4.1f} {c1['value']:9.4f}±{c1['stderr']:.4f} "
                         f"{c3['value']:9.4f}±{c3['stderr']:.4f} "
                         f"{c1['mi_total']:9.4f}±{c1['mi_total_stderr']:.4f}")
    if doc.get("mine"):
        m = doc["mine"]
        lines += [f"# mine, {m['runs']} runs of {m['max_steps']} steps: the authors' way "
                  "(training batches, max of runs) | held out (mean of runs)",
                  f"{'t':>4} {'CMI r=1':>9} {'I(A;BC)':>9} | {'CMI r=1':>17}"]
        for k, t in enumerate(m["times"]):
            lines.append(f"{t:4.1f} {m['authors_cmi'][k][0]:9.4f} {m['authors_i_abc'][k]:9.4f} | "
                         f"{m['held_out_cmi'][k][0]:9.4f}±{m['held_out_cmi_stderr'][k][0]:.4f}")
    lines.append(f"# authors (MINE): CMI(r=1) peak {AUTHORS_R1['peak']} at t = "
                 f"{AUTHORS_R1['peak_t']}, ~0 from t = {AUTHORS_R1['zero_from']}; I(A;BC) "
                 f"{AUTHORS_I_ABC}")
    return "\n".join(lines)


def figure(doc: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scans = doc["scans"]
    fig, axes = plt.subplots(2, max(3, len(scans)), figsize=(4.2 * max(3, len(scans)), 7.6))
    for ax, run in zip(axes[0], scans, strict=False):
        rows = run["results"]["results"]
        grid = np.full((len(TIMES), len(RADII)), np.nan)
        for r in rows:
            grid[int(round(r["t"] * 10)), RADII.index(r["r"])] = r["value"]
        im = ax.imshow(grid.T, origin="lower", aspect="auto", cmap="magma",
                       extent=(-0.05, 1.05, 0.5, 12.5), vmin=min(0.0, np.nanmin(grid)))
        ax.set(title=f"{run['spec']}: I(A;C|B(r))", xlabel="t", ylabel="r")
        fig.colorbar(im, ax=ax, label="nats")
    for ax in axes[0][len(scans):]:
        ax.axis("off")
    ax1, ax2, ax3 = axes[1][:3]
    for run in scans:
        rows = run["results"]["results"]
        r1 = sorted((r for r in rows if r["r"] == 1), key=lambda r: r["t"])
        t = [r["t"] for r in r1]
        ax1.errorbar(t, [r["value"] for r in r1], [2 * r["stderr"] for r in r1],
                     marker="o", ms=3, capsize=2, label=run["spec"])
        ax2.errorbar(t, [r["mi_total"] for r in r1], [2 * r["mi_total_stderr"] for r in r1],
                     marker="o", ms=3, capsize=2, label=run["spec"])
        ml = run["results"].get("markov_length") or []
        if ml:
            ax3.plot([m["t"] for m in ml], [m["xi"] for m in ml], marker="o", ms=3,
                     label=run["spec"])
    if doc.get("mine"):
        m = doc["mine"]
        ax1.plot(m["times"], [row[0] for row in m["authors_cmi"]], "k^--", ms=5,
                 label="mine, authors' way")
        ax1.errorbar(m["times"], [row[0] for row in m["held_out_cmi"]],
                     [2 * row[0] for row in m["held_out_cmi_stderr"]], fmt="kv:", ms=5,
                     capsize=2, label="mine, held out")
        ax2.plot(m["times"], m["authors_i_abc"], "k^--", ms=5, label="mine, authors' way")
    ax1.plot([AUTHORS_R1["peak_t"]], [AUTHORS_R1["peak"]], "r*", ms=14, label="authors (paper)")
    ax2.plot(list(AUTHORS_I_ABC), list(AUTHORS_I_ABC.values()), "r*", ms=14,
             label="authors (paper)")
    ax1.axhline(0, color="0.6", lw=0.8)
    ax1.set_ylim(-0.06, 0.2)  # held-out MINE on clean data (t = 0) is far below: see the table
    ax1.set(title="I(A;C|B(1)) ± 2 stderr", xlabel="t", ylabel="nats")
    ax2.set(title="I(A;BC) ± 2 stderr", xlabel="t", ylabel="nats")
    ax3.set(title="Markov length ξ(t)", xlabel="t", ylabel="sites")
    for ax in (ax1, ax2, ax3):
        ax.legend(fontsize=7)
    for ax in axes[1][3:]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cmi", action="append", default=[],
                    help="estimator name[:key=value,...] (repeatable)")
    ap.add_argument("--mine-runs", type=int, default=0,
                    help="MINE the authors' way: this many runs (0: none)")
    ap.add_argument("--mine-steps", type=int, default=2000)
    ap.add_argument("--mine-times", type=float, nargs="+", default=TIMES)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="mnist-phase-map")
    ap.add_argument("-q", "--quiet", action="store_true")
    ap.add_argument("--replot", action="store_true",
                    help="only redraw OUT/mnist_phase_map.png from OUT/mnist_phase_map.json")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if args.replot:
        figure(json.loads((out / "mnist_phase_map.json").read_text()), out / "mnist_phase_map.png")
        return
    out.mkdir(parents=True, exist_ok=True)
    # a run adds to (or replaces entries of) the folder's earlier runs; each entry keeps
    # the provenance of the run that made it
    path = out / "mnist_phase_map.json"
    doc = (json.loads(path.read_text()) if path.exists() else
           {"scans": [], "mine": None, "authors": {"r1": AUTHORS_R1, "i_abc": AUTHORS_I_ABC}})
    rec = provenance.record()
    for spec in args.cmi:
        run = {**run_scan(spec, out, args.seed, args.quiet), "provenance": rec}
        doc["scans"] = [s for s in doc["scans"] if s["spec"] != spec] + [run]
    if args.mine_runs:
        doc["mine"] = {**mine_authors_way(args.mine_times, args.mine_runs, args.mine_steps,
                                          args.seed), "provenance": rec}
    doc["provenance"] = rec  # the last run
    made_by = sorted({r["provenance"]["command"] for r in doc["scans"] + [doc["mine"] or {}]
                      if "provenance" in r})
    text = (provenance.header() + "".join(f"# part of this file was made by: {c}\n"
                                          for c in made_by) + table(doc) + "\n")
    print(text)
    (out / "mnist_phase_map.txt").write_text(text)
    path.write_text(json.dumps(doc, indent=1, default=repr))
    figure(doc, out / "mnist_phase_map.png")


if __name__ == "__main__":
    main()
