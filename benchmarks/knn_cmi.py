"""Time the ``knn`` CMI estimator against tigramite's CMIknn and NPEET's cmi.

Data with an analytic answer: a noisy Gaussian AR(1) chain of ``d``
coordinates, ``Σ = ρ^|i−j| + s² I`` (a Markov chain observed through
noise, so I(A;C|B) > 0 and exact from log-determinants). A = the middle
coordinate, B = its two neighbours (one for d = 3), C = the rest; the joint
dimension is d. Every estimator runs on the same array with the same k:

* ours: ``KNNCMI(k, jitter=0, n_jobs=--n-jobs)`` (``algorithm="auto"``);
* tigramite ``CMIknn(knn=k, transform=None, significance="fixed_thres",
  workers=--n-jobs)``, ``get_dependence_measure`` only (no permutation test);
* NPEET (PyPI ``npeet-plus``, import ``npeet_plus``) ``cmi(x, y, z, k,
  base=e)`` (single-threaded scikit-learn trees).

Prints estimates, errors against the truth, seconds and time ratios
(reference / ours), plus the load average (the machine may be shared: the
ratios measured in one run are what count). The first call of ours (numba
compilation or cache load) is timed separately as a warm-up.

Usage::

    python benchmarks/knn_cmi.py                      # n in {1k, 5k, 20k}, d in {3, 10, 16, 34}
    python benchmarks/knn_cmi.py --n 20000 --dims 10 16 34 --skip tigramite
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from markovphase import provenance
from markovphase.cmi.gaussian import gaussian_cmi_from_covariance
from markovphase.cmi.knn import KNNCMI


def chain_problem(n, d, seed, rho=0.7, noise=0.5):
    idx = np.arange(d)
    cov = rho ** np.abs(idx[:, None] - idx[None, :]) + noise**2 * np.eye(d)
    X = np.random.default_rng(seed).multivariate_normal(np.zeros(d), cov, size=n)
    a = d // 2
    if d == 3:
        A, B, C = [1], [0], [2]
    else:
        A, B = [a], [a - 1, a + 1]
        C = [j for j in range(d) if j not in (a - 1, a, a + 1)]
    truth = gaussian_cmi_from_covariance(cov, A, C, B)
    return X[:, A], X[:, C], X[:, B], truth


def run_ours(A, C, B, k, n_jobs):
    return KNNCMI(k=k, jitter=0, n_jobs=n_jobs).estimate(A, C, B)


def run_tigramite(A, C, B, k, n_jobs):
    from tigramite.independence_tests.cmiknn import CMIknn

    test = CMIknn(knn=k, transform=None, significance="fixed_thres", workers=n_jobs)
    array = np.hstack([A, C, B]).T.copy()
    xyz = np.array([0] * A.shape[1] + [1] * C.shape[1] + [2] * B.shape[1])
    return test.get_dependence_measure(array, xyz)


def run_npeet(A, C, B, k, n_jobs):
    import npeet_plus

    return npeet_plus.cmi(A, C, B, k=k, base=np.e)


REFERENCES = {"tigramite": run_tigramite, "npeet": run_npeet}
IMPORTS = {"tigramite": "tigramite.independence_tests.cmiknn", "npeet": "npeet_plus"}


def timed(fn, *args):
    t0 = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - t0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, nargs="+", default=[1000, 5000, 20000], help="sample sizes")
    p.add_argument("--dims", type=int, nargs="+", default=[3, 10, 16, 34], help="joint dims")
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--n-jobs", type=int, default=-1, help="threads for ours and tigramite")
    p.add_argument("--skip", nargs="*", default=[], choices=sorted(REFERENCES),
                   help="references not to run (slow ones)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    print(provenance.header(), end="")

    import importlib

    refs = {}
    for name, fn in REFERENCES.items():
        if name in args.skip:
            print(f"note: skipping {name} (--skip)")
            continue
        try:
            importlib.import_module(IMPORTS[name])
            refs[name] = fn
        except ImportError as exc:
            print(f"note: skipping {name}: not importable ({exc})")

    from threadpoolctl import threadpool_limits

    A, C, B, _ = chain_problem(200, 4, 0)
    _, warm = timed(run_ours, A, C, B, args.k, args.n_jobs)
    print(f"warm-up of ours (numba compile or cache load): {warm:.2f} s")
    for name, fn in refs.items():  # tigramite jit-compiles on its first call
        _, warm = timed(fn, A, C, B, args.k, args.n_jobs)
        print(f"warm-up of {name}: {warm:.2f} s")
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start, "
          f"k = {args.k}, n_jobs = {args.n_jobs}\n")
    cols = ["n", "d", "truth", "ours", "err", "sec"]
    cols += [c for name in refs for c in (name, "err", "sec", "ratio")]
    print("  ".join(f"{c:>9s}" for c in cols) + "       load")
    with threadpool_limits(limits=1, user_api="blas"):
        for n in args.n:
            for d in args.dims:
                A, C, B, truth = chain_problem(n, d, args.seed)
                ours, t_ours = timed(run_ours, A, C, B, args.k, args.n_jobs)
                row = [f"{n:9d}", f"{d:9d}", f"{truth:9.5f}", f"{ours:9.5f}",
                       f"{ours - truth:+9.5f}", f"{t_ours:9.3f}"]
                for fn in refs.values():
                    v, t = timed(fn, A, C, B, args.k, args.n_jobs)
                    row += [f"{v:9.5f}", f"{v - truth:+9.5f}", f"{t:9.3f}", f"{t / t_ours:8.1f}x"]
                print("  ".join(row) + f"  {os.getloadavg()[0]:9.2f}", flush=True)
    print("\nratio = reference seconds / ours (same data, same k, same run)")


if __name__ == "__main__":
    main()
