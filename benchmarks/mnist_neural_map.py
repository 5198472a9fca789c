"""The MNIST (t, r) CMI map with the neural estimator, timed (issue 4, item 5).

27x27 crop of the MNIST test set (10,000 images), A = the centre pixel (13, 13),
B(r) = the Chebyshev ring 1..r, C = the rest (open borders), linear path
x_t = (1 - t) x_0 + t z with one fixed noise draw per image (the paper's
convention), t = 0, 0.1, ..., 1 and r = 1..12, plus I(A;BC). ONE
time-conditioned network (``NeuralCMI.evaluate_path``) serves all 11 x 13
cells; t = 0 uses the discretised likelihood on the 256-level pixel grid.

The Gaussian reference map (exact CMI of the Gaussian with the data's
covariance, ``S_t = (1-t)^2 S_0 + t^2 I``) is computed in the same run for
comparison, and the load average is printed (the machine is shared).

Usage::

    OMP_NUM_THREADS=2 python benchmarks/mnist_neural_map.py \
        --path ../shared/data/mnist/t10k-images-idx3-ubyte.gz --out mnist_neural_map.json
    python benchmarks/mnist_neural_map.py --estimator mine ...
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

import markovphase as mp
from markovphase.calibration import gaussian_cmi
from markovphase.diffusion import LinearPath, fixed_noise
from markovphase.lattice import Lattice, Regions

#: the authors' MINE values (issue 4 text): CMI(r=1) bump ~0.17 at t ~ 0.3; I(A;BC)
AUTHORS_I_ABC = {0.0: 1.05, 0.3: 0.42, 0.5: 0.11}
AUTHORS_R1_PEAK = (0.3, 0.17)


def mnist_regions(lat: Lattice, radii):
    regions = [lat.regions(lat.center, r) for r in radii]
    A = regions[0].A
    others = np.setdiff1d(np.arange(lat.n_features), A)
    regions.append(Regions(A, np.array([], dtype=np.intp), others))
    return regions


def gaussian_map(X0, path, times, regions):
    cov0 = np.cov(X0, rowvar=False)
    out = {}
    for t in times:
        cov_t = path.covariance(cov0, t)
        if float(path.sigma(t)) == 0.0:  # clean data: singular (constant border pixels)
            cov_t = cov_t + 1e-6 * np.eye(len(cov_t))
        out[t] = [gaussian_cmi(cov_t, r.A, r.C, r.B) for r in regions]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--path", default="../shared/data/mnist/t10k-images-idx3-ubyte.gz")
    ap.add_argument("--estimator", choices=["neural", "mine"], default="neural")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--max-steps", type=int, default=None)
    ap.add_argument("--architecture", default="auto")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--verbose", type=int, default=1)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)

    load0 = os.getloadavg()
    ds = mp.load_dataset("mnist", path=args.path, crop=27, n_samples=args.n)
    lat = Lattice(ds.lattice_shape, 1, periodic=False)
    times = [round(0.1 * k, 1) for k in range(11)]
    radii = list(range(1, 13))
    regions = mnist_regions(lat, radii)
    path = LinearPath()
    noise = fixed_noise(ds.X.shape[0], ds.X.shape[1], args.seed)
    kw = dict(random_state=args.seed, verbose=args.verbose, architecture=args.architecture)
    if args.max_steps:
        kw["max_steps"] = args.max_steps
    if args.estimator == "neural":
        from markovphase.cmi.neural import NeuralCMI

        est = NeuralCMI(**kw)
    else:
        from markovphase.cmi.mine import MINECMI

        est = MINECMI(**kw)
    t0 = time.perf_counter()
    res = est.evaluate_path(ds.X, noise, path, times, regions, lattice=lat)
    wall = time.perf_counter() - t0
    load1 = os.getloadavg()
    t1 = time.perf_counter()
    gauss = gaussian_map(ds.X, path, times, regions)
    wall_gauss = time.perf_counter() - t1

    print(f"{args.estimator} map: {len(times)} x {len(radii)} cells + I(A;BC), n={ds.X.shape[0]} "
          f"(held-out {est.n_test_}), wall {wall:.1f} s = {wall / 60:.2f} min "
          f"(load average before {load0[0]:.1f}, after {load1[0]:.1f}, {os.cpu_count()} cores); "
          f"Gaussian map {wall_gauss:.1f} s")
    head = "   t " + " ".join(f"{'r=' + str(r):>12}" for r in radii[:6]) + f" {'I(A;BC)':>13}"
    print(head)
    for t in times:
        cells = res[t]
        vals = " ".join(f"{c.value:6.3f}±{c.stderr:5.3f}" for c in cells[:6])
        print(f"{t:4.1f} {vals} {cells[-1].value:6.3f}±{cells[-1].stderr:5.3f}")
    print("r = 1 and I(A;BC) next to the Gaussian reference and the authors (MINE):")
    print(f"{'t':>4} {'CMI r=1':>15} {'Gauss r=1':>10} {'I(A;BC)':>15} {'Gauss':>7} {'authors':>8}")
    for t in times:
        c1, cab = res[t][0], res[t][-1]
        auth = AUTHORS_I_ABC.get(t, float("nan"))
        print(f"{t:4.1f} {c1.value:8.4f}±{c1.stderr:6.4f} {gauss[t][0]:10.4f} "
              f"{cab.value:8.4f}±{cab.stderr:6.4f} {gauss[t][-1]:7.3f} {auth:8.2f}")
    if args.out:
        out = dict(
            estimator=args.estimator, params=est.get_params(), n=int(ds.X.shape[0]),
            n_test=int(est.n_test_), wall_s=wall, load_before=load0, load_after=load1,
            times=times, radii=radii,
            value=[[c.value for c in res[t][:-1]] for t in times],
            stderr=[[c.stderr for c in res[t][:-1]] for t in times],
            i_abc=[res[t][-1].value for t in times],
            i_abc_stderr=[res[t][-1].stderr for t in times],
            gaussian=[gauss[t][:-1] for t in times], gaussian_i_abc=[gauss[t][-1] for t in times],
            history=est.history_,
        )
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1, default=str)


if __name__ == "__main__":
    main()
