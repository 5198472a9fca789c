"""Calibrate the neural (and MINE) CMI estimators against exact answers.

Cases (16x16 periodic lattice, A = the centre site, linear path x_t = (1-t) x_0 + t z):

* ``gff``: Gaussian free field (mass 0.5) scaled to unit site variance; exact
  CMI from log-determinants of ``S_t = (1-t)^2 S_0 + t^2 I``.
* ``mixture``: macrostate mixture ``x_0 = s * 1 + y``, ``s = +-1``,
  ``y ~ 0.25 * GFF``; exact CMI by Monte Carlo over exact log-densities
  (a non-Gaussian CMI bump in t).
* ``null``: the noise floor -- I(A;C|B) for independent pure-noise lattices
  (exact CMI 0) at the same n; the spread of the estimates is the smallest
  CMI distinguishable from 0.

One time-conditioned network per case (``NeuralCMI.evaluate_path``) serves
every (t, r). Prints a table estimate / stderr / exact / |error| and whether
each cell passes the acceptance rule.

Usage::

    OMP_NUM_THREADS=2 python benchmarks/neural_calibration.py --case gff --n 20000
    python benchmarks/neural_calibration.py --case mixture --estimator mine
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from markovphase.calibration import MacrostateMixture, gaussian_cmi, gff_covariance
from markovphase.diffusion import LinearPath
from markovphase.lattice import Lattice, Regions


def build(case: str, n: int, seed: int):
    lat = Lattice((16, 16), periodic=True)
    cov = gff_covariance(lat.shape, 0.5)
    cov = cov / cov[0, 0]
    rng = np.random.default_rng(seed)
    if case == "gff":
        X0 = rng.standard_normal((n, lat.n_sites)) @ np.linalg.cholesky(cov).T
        exact = None
        model = cov
    elif case == "mixture":
        model = MacrostateMixture(0.25 * cov, np.ones(lat.n_sites))
        X0 = model.sample(n, rng)
        exact = model
    elif case == "null":
        X0 = rng.standard_normal((n, lat.n_sites))
        model, exact = np.eye(lat.n_sites), None
    else:
        raise ValueError(case)
    noise = rng.standard_normal(X0.shape)
    return lat, X0, noise, model, exact


def exact_cmi(case, model, path, t, reg: Regions):
    if case == "null":
        return 0.0, 0.0
    if case == "gff":
        return gaussian_cmi(path.covariance(model, t), reg.A, reg.C, reg.B), 0.0
    return model.cmi(path, t, reg.A, reg.C, reg.B, n_mc=20000, rng=1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=["gff", "mixture", "null"], default="gff")
    ap.add_argument("--estimator", choices=["neural", "mine"], default="neural")
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--times", type=float, nargs="+", default=[0.1, 0.3, 0.5, 0.7, 0.9])
    ap.add_argument("--radii", type=int, nargs="+", default=[1, 2, 3, 4])
    ap.add_argument("--max-steps", type=int, default=2000)
    ap.add_argument("--architecture", default="auto")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="write the table as JSON here")
    args = ap.parse_args(argv)

    lat, X0, noise, model, exact = build(args.case, args.n, args.seed)
    path = LinearPath()
    regions = [lat.regions(None, r) for r in args.radii]
    A = regions[0].A
    others = np.setdiff1d(np.arange(lat.n_features), A)
    regions.append(Regions(A, np.array([], dtype=np.intp), others))
    labels = [f"r={r}" for r in args.radii] + ["I(A;BC)"]
    if args.estimator == "neural":
        from markovphase.cmi.neural import NeuralCMI

        est = NeuralCMI(max_steps=args.max_steps, architecture=args.architecture,
                        random_state=args.seed, verbose=1)
    else:
        from markovphase.cmi.mine import MINECMI

        est = MINECMI(max_steps=args.max_steps, architecture=args.architecture,
                      random_state=args.seed, verbose=1)
    t0 = time.perf_counter()
    res = est.evaluate_path(X0, noise, path, args.times, regions, lattice=lat)
    wall = time.perf_counter() - t0
    rows, n_pass, n_cells = [], 0, 0
    print(f"case={args.case} estimator={args.estimator} n={args.n} (test rows {est.n_test_}) "
          f"steps={args.max_steps} wall={wall:.1f}s")
    print(f"{'t':>5} {'cell':>8} {'estimate':>9} {'stderr':>8} {'exact':>8} {'error':>8}  pass")
    for t in args.times:
        for lab, reg, r in zip(labels, regions, res[t], strict=True):
            ex, ex_se = exact_cmi(args.case, model, path, t, reg)
            err = r.value - ex
            if args.case == "mixture":
                tol = max(0.01, 0.2 * abs(ex))
            else:
                tol = max(0.01, 2 * r.stderr)
            ok = abs(err) <= tol
            if lab != "I(A;BC)":
                n_cells += 1
                n_pass += ok
            rows.append(dict(t=t, cell=lab, value=r.value, stderr=r.stderr, exact=ex,
                             exact_stderr=ex_se, error=err, tol=tol, ok=bool(ok)))
            print(f"{t:5.2f} {lab:>8} {r.value:9.4f} {r.stderr:8.4f} {ex:8.4f} {err:+8.4f}  "
                  f"{'yes' if ok else 'NO'}")
    errs = np.array([r["error"] for r in rows if r["cell"] != "I(A;BC)"])
    ses = np.array([r["stderr"] for r in rows if r["cell"] != "I(A;BC)"])
    print(f"CMI cells passing: {n_pass}/{n_cells}; mean error {errs.mean():+.4f}, "
          f"RMS error {np.sqrt((errs**2).mean()):.4f}, median stderr {np.median(ses):.4f}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(dict(args=vars(args), wall_s=wall, n_test=est.n_test_, rows=rows), f,
                      indent=1)


if __name__ == "__main__":
    main()
