"""Benchmark: 10,000 Ising samples of L = 32 at T_c (issue 7 asks for <= 60 s).

Competitor, timed in the same run: single-spin Metropolis in numpy with
checkerboard updates (:func:`markovphase_ising.sampler.metropolis_checkerboard`),
batched over chains like the Swendsen–Wang sampler. Both are compared at the
same number of *effectively independent* samples of |m|:

    n_eff = n_chain_sweeps / (2 tau_int,|m|)       (tau_int = 1/2 when independent)

Swendsen–Wang: ``n_eff = n_samples / (2 tau_saved)`` with tau_saved measured between
saved samples. Metropolis: its chains start from equilibrium (Swendsen–Wang
samples), run ``--metro-sweeps`` sweeps, and tau_int of |m| per sweep is measured
(a lower bound when the window did not converge, making the ratio a lower bound
too). The Metropolis time for the same n_eff is extrapolated from its measured
cost per chain-sweep.

Usage: python plugins/markovphase-ising/benchmarks/sample_speed.py [--n-samples 10000]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from markovphase_ising import load_ising
from markovphase_ising.autocorr import integrated_autocorr_time
from markovphase_ising.exact import ISING_TC
from markovphase_ising.sampler import metropolis_checkerboard


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--L", type=int, default=32)
    ap.add_argument("--temperature", type=float, default=ISING_TC)
    ap.add_argument("--n-samples", type=int, default=10_000)
    ap.add_argument("--metro-chains", type=int, default=64)
    ap.add_argument("--metro-sweeps", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()}")

    t0 = time.perf_counter()
    ds = load_ising(L=args.L, temperature=args.temperature, n_samples=args.n_samples,
                    random_state=args.seed)
    t_sw = time.perf_counter() - t0
    md = ds.metadata
    tau_saved = max(md["tau_saved_abs_m"], 0.5)
    n_eff = args.n_samples / (2 * tau_saved)
    print(f"swendsen-wang: {args.n_samples} samples of L={args.L} at T={args.temperature:.6f} "
          f"in {t_sw:.2f} s (pilot tau {md['pilot_tau']:.2f} sweeps, n_therm {md['n_therm']}, "
          f"spacing {md['spacing']}, {md['n_chains']} chains); tau_int(|m|) between saved "
          f"samples {md['tau_saved_abs_m']:.3f} -> n_eff {n_eff:.0f}")
    print(f"  <e> = {md['energy_mean']:.5f} +- {md['energy_stderr']:.5f} "
          f"(exact {md['exact_energy_finite_size']:.5f}), "
          f"<|m|> = {md['abs_magnetization_mean']:.5f} +- {md['abs_magnetization_stderr']:.5f}")

    rng = np.random.default_rng(args.seed + 1)
    start = ds.X[rng.choice(len(ds.X), args.metro_chains, replace=False)]
    spins = start.reshape(-1, args.L, args.L).astype(np.int8)
    t0 = time.perf_counter()
    _, energy, abs_m = metropolis_checkerboard(spins, 1.0 / args.temperature,
                                               args.metro_sweeps, rng)
    t_metro = time.perf_counter() - t0
    per_chain_sweep = t_metro / (args.metro_chains * args.metro_sweeps)
    tau = integrated_autocorr_time(abs_m.T)
    metro_time = n_eff * 2 * tau.tau * per_chain_sweep
    bound = "" if tau.converged else " (window not converged: tau and ratio are lower bounds)"
    print(f"metropolis (checkerboard, numpy): {args.metro_chains} chains x {args.metro_sweeps} "
          f"sweeps in {t_metro:.2f} s = {per_chain_sweep * 1e6:.1f} us per chain-sweep; "
          f"tau_int(|m|) = {tau.tau:.1f} +- {tau.stderr:.1f} sweeps{bound}")
    print(f"metropolis time for the same n_eff = {n_eff:.0f}: {metro_time:.1f} s (extrapolated)")
    print(f"ratio metropolis / swendsen-wang: {metro_time / t_sw:.1f}x")
    print(f"target: <= 60 s for {args.n_samples} samples -> "
          f"{'met' if t_sw <= 60 else 'NOT met'} ({t_sw:.1f} s)")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
