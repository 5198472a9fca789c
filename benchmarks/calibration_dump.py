"""Write calibration cases to files: clean samples, lattice, site and the exact CMI table.

For each requested case (name, parameters, seed) writes
``OUT/<label>-seed<k>.npz`` with ``X0`` (n x n_sites float32, from
``case.sample_clean(n, random_state=seed)``), ``lattice_shape``, ``site``,
``times``, ``radii``, ``exact`` and ``exact_stderr`` (n_times x n_radii, nats)
and ``OUT/<label>-seed<k>.json`` with the same table and the provenance;
then ``OUT/READY`` listing the files. For estimators that cannot import
``markovphase.calibration`` (other branches, other tools).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/calibration_dump.py --out /tmp/calib-data \\
        --case class-templates:tau=0.2 --case class-gaussians:eps=0.01 \\
        --case kmeans-clusters:n_clusters=20 --case gaussian-field --case ising-chain --seed 1
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from markovphase import provenance
from markovphase.calibration import get_case, parse_case_spec


def dump(name, params, seed, n, times, radii, n_mc, out):
    case = get_case(name, random_state=seed, **params)
    t0 = time.time()
    X0 = case.sample_clean(n).astype(np.float32)
    table = case.exact_cmi(times, radii, n_mc=n_mc)
    wide = table.pivot(index="t", columns="r", values="exact").loc[times, radii]
    se = table.pivot(index="t", columns="r", values="exact_stderr").loc[times, radii]
    stem = os.path.join(out, f"{case.label}-seed{seed}")
    np.savez_compressed(stem + ".npz", X0=X0, lattice_shape=np.array(case.lattice_shape),
                        site=np.array(case.site), times=np.array(times), radii=np.array(radii),
                        exact=wide.to_numpy(), exact_stderr=se.to_numpy())
    record = {"case": name, "params": case.params, "label": case.label,
              "description": case.description, "lattice_shape": list(case.lattice_shape),
              "site": list(case.site), "periodic": False, "path": "linear: x_t = (1-t) x0 + t z",
              "n_samples": n, "n_mc": n_mc, "rows": table.to_dict("records"),
              "provenance": provenance.record()}
    with open(stem + ".json", "w") as fh:
        json.dump(record, fh, indent=1)
    print(f"{stem}.npz  ({time.time() - t0:.0f} s)\n{wide.round(4).to_string()}", flush=True)
    return stem


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", action="append", required=True,
                    help="name[:key=value,...], e.g. kmeans-clusters:n_clusters=20 (repeatable)")
    ap.add_argument("--seed", type=int, nargs="+", default=[1])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--n-mc", type=int, default=40_000)
    ap.add_argument("--times", type=float, nargs="+", default=[0.1, 0.3, 0.5, 0.7])
    ap.add_argument("--radii", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6])
    ap.add_argument("--out", default="/tmp/calib-data")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    stems = [dump(*parse_case_spec(spec), seed, args.n, args.times, args.radii, args.n_mc, args.out)
             for spec in args.case for seed in args.seed]
    with open(os.path.join(args.out, "READY"), "a") as fh:
        fh.writelines(os.path.basename(s) + ".npz\n" for s in stems)


if __name__ == "__main__":
    main()
