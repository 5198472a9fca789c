"""From a phase scan to a compute plan: locality schedule + hybrid sampler.

Part 1 (seconds, exact): the 2-D Gaussian free field, where the Bayes denoisers
are closed-form Wiener filters and every quantity is exact.

* probe locality exactly: the excess MSE of the radius-r Wiener filter over the
  global one along the linear path (a denoiser probe with exact values);
* derive a LocalitySchedule (smallest radius within tolerance, global elsewhere),
  save it as JSON and read it back;
* sample with the hybrid sampler (Heun) and compare the samples' covariance with
  the exact one (statistic next to its sampling null), and the sampler's *exact*
  output covariance (the sampler is linear: push the identity through it) to
  separate discretisation + locality bias from sampling noise;
* FLOPs and wall time per phase against all-global.

Part 2 (``--mnist``, minutes on a CPU): the paper's four schedules plus the
derived one with small trained networks (see ``benchmarks/hybrid_mnist.py`` for
the full experiment and its options).

Run: ``.venv/bin/python examples/hybrid_sampling.py [--mnist PATH] [--out DIR]``
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np

import markovphase as mp
from markovphase.denoisers import LinearLocalDenoiser
from markovphase.metrics import covariance_error
from markovphase.sampling import HybridSampler
from markovphase.schedule import LocalitySchedule


def gaussian_field_demo(out_dir, shape=(8, 8), mass=1.0, n=2000, steps=20):
    ds = mp.load_dataset("gaussian-field", shape=f"{shape[0]},{shape[1]}", mass=mass,
                         n_samples=4000, random_state=0)
    Sigma, d = ds.covariance, ds.X.shape[1]
    def wiener(r):
        return LinearLocalDenoiser(lattice_shape=shape, radius=r, periodic=True,
                                   covariance=Sigma, mean=np.zeros(d)).fit(ds.X[:10])

    # an exact denoiser probe: relative excess MSE of the radius-r Wiener filter over
    # the global one, (MSE_r(t) - MSE_global(t)) / Sigma_00, from the exact formulas
    times = np.round(np.linspace(0.05, 0.95, 10), 3)
    radii = (1, 2)
    g_mse = [wiener(None).exact_mse(t).mean() for t in times]
    gap = np.array([[wiener(r).exact_mse(t).mean() - g for t, g in zip(times, g_mse, strict=True)]
                    for r in radii]).T / Sigma[0, 0]
    print("relative excess MSE of radius-r Wiener filters (rows t, columns r):")
    for t, row in zip(times, gap, strict=True):
        cells = (f"r={r}: {v:.1e}" for r, v in zip(radii, row, strict=True))
        print(f"  t={t:.2f}  " + "  ".join(cells))
    tol = 1e-4
    smallest = [next((r for r, v in zip(radii, row, strict=True) if v <= tol), None) for row in gap]
    sched = LocalitySchedule.from_radii(times, smallest, max_radius=2,
                                        metadata={"probe": "exact Wiener gap", "tolerance": tol})
    path = os.path.join(out_dir, "gff_schedule.json")
    sched.to_json(path)
    assert LocalitySchedule.from_json(path) == sched
    print("derived schedule:", sched, f"(written to {path})")

    glob = wiener(None)
    local = {r: wiener(r) for r in sched.radii}
    rows = []
    for name, s in [("derived", sched), ("all-global", LocalitySchedule.constant(None)),
                    ("all-local r=1", LocalitySchedule.constant(1))]:
        loc = local if name == "derived" else {1: wiener(1)}
        smp = HybridSampler(s, loc, glob, steps=steps, method="heun", random_state=1)
        O = smp.sample(x_start=np.eye(d))  # exact transfer: output covariance O^T O
        bias = np.linalg.norm(O.T @ O - Sigma) / np.linalg.norm(Sigma)
        X = smp.sample(n)
        res = covariance_error(X, Sigma, n_null=100)
        rows.append((name, bias, res["stat"], res["null_q95"], res["p_value"],
                     smp.stats_["flops_per_sample"], smp.stats_["total_wall_s"]))
        if name == "derived":
            print(smp.phases_.to_string(index=False))
    print(f"\n{'schedule':<15}{'exact bias':>11}{'cov err':>9}{'null q95':>9}{'p':>7}"
          f"{'FLOPs/sample':>14}{'wall s':>8}")
    g = rows[1][5]
    for name, bias, st, q95, p, fl, w in rows:
        print(f"{name:<15}{bias:11.4f}{st:9.4f}{q95:9.4f}{p:7.3f}{fl:14.3g}{w:8.2f}"
              f"   ({fl / g:.0%} of all-global FLOPs)")


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--mnist", default=None, help="path of t10k-images-idx3-ubyte.gz")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    out = args.out or tempfile.mkdtemp(prefix="hybrid-")
    os.makedirs(out, exist_ok=True)
    gaussian_field_demo(out)
    if args.mnist:
        from markovphase import experiment as ex

        config = ex.ExperimentConfig(
            data=ex.DataConfig("mnist", {"path": args.mnist, "crop": 27}, n_train=1000,
                               n_samples=200),
            denoisers=ex.DenoiserConfig("network", {"epochs": 3, "width": 16}),
            derivation=ex.DerivationConfig(derive=False), sampler=ex.SamplerConfig(steps=10))
        res = ex.run_experiment(config, out_dir=os.path.join(out, "mnist"))
        print(res["summary"].drop(columns=["schedule_text"]).round(3).to_string(index=False))
        print(f"samples figure: {os.path.join(out, 'mnist', 'samples.png')}")


if __name__ == "__main__":
    main()
