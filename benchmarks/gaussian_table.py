"""Time the exact Gaussian CMI(t, r) table of a 28x28 lattice.

A = the centre pixel (14, 14), B(r) the Chebyshev rings r = 1..12, times
t = 0, 0.1, ..., 1 on the linear path ``Σ_t = (1 − t)² Σ_0 + t² I``; Σ_0 is
the clean pixel covariance of the MNIST test set (zero-variance border
pixels are dropped, see ``markovphase.cmi.gaussian``), or a Gaussian free
field covariance when MNIST cannot be read. Target: the whole table in ≤ 2 s.

The reference is the textbook computation in the same run: four
``numpy.linalg.slogdet`` calls per (t, r) cell on the covariance with the
zero-variance pixels removed.

BLAS threads are limited to ``--blas-threads`` (default 1) with threadpoolctl:
on the shared 2-core machine, OpenBLAS with 2 threads under load took 1.7 s
per 667x667 Cholesky instead of 4-10 ms with one.

Usage::

    python benchmarks/gaussian_table.py [--mnist PATH] [--gff] [--skip-naive]

``--mnist`` defaults to the environment variable ``MARKOVPHASE_MNIST``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from markovphase import provenance
from markovphase.cmi.gaussian import gaussian_cmi_path
from markovphase.lattice import Lattice


def clean_covariance(path: str | None, use_gff: bool) -> tuple[np.ndarray, str]:
    if not use_gff and path and os.path.exists(path):
        import markovphase as mp

        ds = mp.load_dataset("mnist", path=path)
        X = ds.X
        return np.cov(X, rowvar=False), f"MNIST test set ({X.shape[0]} images, {path})"
    from markovphase.datasets.gaussian_field import gaussian_field_covariance

    return gaussian_field_covariance((28, 28), 0.3), "Gaussian free field 28x28, mass 0.3"


def naive_table(cov0, regions, times, ridge):
    keep = np.diag(cov0) > 1e-12 * np.max(np.diag(cov0))
    out = np.zeros((len(times), len(regions)))
    for i, t in enumerate(times):
        cov = (1 - t) ** 2 * cov0 + (t**2 + ridge) * np.eye(len(cov0))
        for j, r in enumerate(regions):
            A, B, C = (ix[keep[ix]] for ix in (r.A, r.B, r.C))
            if A.size == 0 or C.size == 0:
                continue

            def ld(ix, cov=cov):
                return np.linalg.slogdet(cov[np.ix_(ix, ix)])[1] if ix.size else 0.0

            out[i, j] = 0.5 * (ld(np.r_[A, B]) + ld(np.r_[B, C]) - ld(B) - ld(np.r_[A, B, C]))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--mnist", default=os.environ.get("MARKOVPHASE_MNIST"),
                   help="MNIST IDX image file (default: $MARKOVPHASE_MNIST)")
    p.add_argument("--gff", action="store_true", help="use a free-field covariance instead")
    p.add_argument("--skip-naive", action="store_true", help="skip the slogdet reference")
    p.add_argument("--repeats", type=int, default=3, help="timing repeats (best is printed)")
    p.add_argument("--ridge", type=float, default=1e-6,
                   help="ridge, relative to the mean pixel variance, added to the diagonal: the "
                        "clean MNIST covariance is singular beyond its zero-variance pixels "
                        "(pixels lit in one image only), so t = 0 needs it")
    p.add_argument("--blas-threads", type=int, default=1, help="BLAS threads (threadpoolctl)")
    args = p.parse_args(argv)
    print(provenance.header(), end="")
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=args.blas_threads, user_api="blas"):
        run(args)


def run(args):

    cov0, source = clean_covariance(args.mnist, args.gff)
    lat = Lattice((28, 28))
    site = (14, 14)
    radii = list(range(1, 13))
    times = np.round(np.linspace(0, 1, 11), 10)
    regions = [lat.regions(site, r) for r in radii]
    ridge = args.ridge * float(np.mean(np.diag(cov0)))
    print(f"covariance: {source}; zero-variance pixels: {int(np.sum(np.diag(cov0) == 0))}; "
          f"ridge {ridge:.3g}")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")

    best = np.inf
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        table = gaussian_cmi_path(cov0, regions, times, ridge=ridge)
        best = min(best, time.perf_counter() - t0)
    print(f"\nexact table ({len(times)} times x {len(radii)} radii): {best:.3f} s "
          f"(target <= 2 s: {'PASS' if best <= 2 else 'FAIL'})")
    header = "t     " + "".join(f"r={r:<8d}" for r in radii)
    print(header)
    for t, row in zip(times, table, strict=True):
        print(f"{t:<5.1f} " + "".join(f"{v:<10.5f}" for v in row))

    if not args.skip_naive:
        t0 = time.perf_counter()
        ref = naive_table(cov0, regions, times, ridge)
        tn = time.perf_counter() - t0
        print(f"\nnaive slogdet reference: {tn:.3f} s; ratio {tn / best:.1f}x; "
              f"max |difference| {np.max(np.abs(ref - table)):.2e} nats")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
