"""Calibrate CMI estimators on the exact suite at several configurations; print pass counts.

Each ``--cmi`` (``name`` or ``name:key=value,...``) runs through
``markovphase.calibration.run_calibration`` on every ``--config``
(``case:key=value,...``; ``random_state`` is the case's seed). A cell passes
when ``|estimate - exact| <= max(0.01, 0.2 |exact|)`` (nats), at 10,000 clean
samples, t in {0.1, 0.3, 0.5, 0.7}, r = 1..6 by default. The default configs
are ones the estimators were NOT tuned on (the tuning used the defaults with
seed 1, see ``calibration_dump.py``).

Writes ``OUT/calibration_<label>.csv``, ``.png`` and ``.txt`` (the table, the
pass counts and the provenance: commit, package versions, exact command).

Usage::

    OMP_NUM_THREADS=2 python benchmarks/calibration_suite.py --cmi gaussian --cmi mixture \\
        --out benchmarks/results
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from markovphase import plugins, provenance
from markovphase.calibration import get_case, parse_case_spec
from markovphase.calibration.report import format_table, summary, write_calibration
from markovphase.calibration.runner import run_calibration

DEFAULT_CONFIGS = [
    "gaussian-field:mass=0.2,scale=0.7,random_state=5",
    "gaussian-field:mass=0.05,scale=0.4,random_state=6",
    "class-templates:tau=0.15,random_state=5",
    "class-templates:tau=0.35,random_state=6",
    "class-gaussians:eps=0.005,random_state=5",
    "class-gaussians:eps=0.03,random_state=6",
    "kmeans-clusters:n_clusters=12,random_state=5",
    "kmeans-clusters:n_clusters=30,covariance_type=lowrank,n_factors=15,random_state=6",
    "ising-chain:coupling=0.7,noise=0.3,random_state=5",
    "ising-chain:coupling=1.4,amplitude=0.7,noise=0.5,random_state=6",
]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cmi", action="append", required=True,
                    help="estimator: name[:key=value,...] (repeatable)")
    ap.add_argument("--config", action="append", default=None,
                    help="case[:key=value,...] (repeatable; default: 2 per family)")
    ap.add_argument("--n-samples", type=int, default=10_000)
    ap.add_argument("--n-mc", type=int, default=40_000)
    ap.add_argument("--times", type=float, nargs="+", default=[0.1, 0.3, 0.5, 0.7])
    ap.add_argument("--radii", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache-dir", default="/tmp/markovphase-calibration-cache")
    ap.add_argument("--out", default="benchmarks/results")
    ap.add_argument("--label", default=None, help="file label (default: the estimator specs)")
    args = ap.parse_args(argv)

    cases = [get_case(spec) for spec in args.config or DEFAULT_CONFIGS]
    for spec in args.cmi:
        name, params = parse_case_spec(spec)  # the same name:key=value,... syntax
        est = plugins.resolve("cmi", name, **params)
        t0 = time.time()
        table = run_calibration(est, cases=cases, times=args.times, radii=args.radii,
                                n_samples=args.n_samples, n_mc=args.n_mc,
                                random_state=args.seed, cache_dir=args.cache_dir, verbose=1)
        label = args.label or spec.replace(":", "_").replace(",", "_").replace("=", "")
        text = (provenance.header() + f"# estimator: {est!r}\n"
                f"# wall time: {time.time() - t0:.0f} s\n" + format_table(table) + "\n")
        print(text)
        paths = write_calibration(table, args.out, {"estimator": repr(est),
                                                    "provenance": provenance.record()},
                                  title=spec, name=f"calibration_{label}")
        with open(paths["csv"][:-4] + ".txt", "w") as fh:
            fh.write(text)
        s = summary(table)
        with pd.option_context("display.width", 160, "display.max_colwidth", 70):
            print(s.to_string(index=False))


if __name__ == "__main__":
    main()
