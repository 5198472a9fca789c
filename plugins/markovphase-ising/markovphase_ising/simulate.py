"""Run the Swendsen–Wang sampler with thermalisation and spacing chosen from a
measured autocorrelation time.

The rule (documented in the README, recorded in every dataset's metadata):

1. **Pilot.** ``min(n_chains, 32)`` chains start from random (infinite-T)
   states and run ``n`` sweeps, ``n = 128, 256, ...``. The integrated
   autocorrelation times (:mod:`markovphase_ising.autocorr`, Sokal window,
   c = 6) of the energy per spin and of ``|m|`` are measured on the second
   half; ``tau = max(tau_E, tau_|m|)`` in sweeps. The pilot is long enough once
   the discarded half is >= 10 tau and the kept half >= 20 tau, with both
   windows converged; otherwise ``n`` doubles (up to ``max_pilot_sweeps``).
2. **Thermalisation.** Production chains start from random states and run
   ``n_therm = ceil(10 tau)`` sweeps before the first saved sample.
3. **Spacing.** Samples are saved every ``spacing = ceil(2 tau)`` sweeps, so the
   autocorrelation between consecutive saved samples is about
   ``exp(-2) ~ 0.14`` and their ``tau_int <= 1`` (independent samples: 1/2).
4. **Check.** The production run re-measures tau per sweep and between saved
   samples; both are stored in the metadata.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from .autocorr import integrated_autocorr_time
from .sampler import SwendsenWang

#: largest number of sites advanced in one batched sweep (memory / cache bound)
MAX_BATCH_SITES = 1 << 18


@dataclass
class Observables:
    """Energy per spin and order parameter from equal-bond and state counts.

    ``ising=True``: ``e = -J (2 n_eq / N - 2)``, ``m = (n_0 - n_1) / N`` (sign
    kept), ``|m|``. Otherwise Potts: ``e = -J n_eq / N`` and the order
    parameter ``m = (q max_k n_k / N - 1) / (q - 1)`` in [0, 1].
    """

    ising: bool
    coupling: float
    n_sites: int
    q: int

    def energy(self, n_equal: np.ndarray) -> np.ndarray:
        x = n_equal / self.n_sites
        return -self.coupling * (2.0 * x - 2.0) if self.ising else -self.coupling * x

    def magnetization(self, counts: np.ndarray) -> np.ndarray:
        if self.ising:
            return (counts[..., 0] - counts[..., 1]) / self.n_sites
        frac = counts.max(axis=-1) / self.n_sites
        return (self.q * frac - 1.0) / (self.q - 1.0)


@dataclass
class SampleRun:
    """Saved states and everything measured on the way (see module docstring)."""

    states: np.ndarray  # (n_samples, L, L) int8
    energy: np.ndarray  # (n_samples,) per spin
    magnetization: np.ndarray  # (n_samples,) Ising: signed m; Potts: order parameter
    info: dict = field(default_factory=dict)


def _taus(energy: np.ndarray, abs_m: np.ndarray) -> dict:
    """tau_int of energy and |m|; arrays of shape (n_chains, n_steps)."""
    te, tm = integrated_autocorr_time(energy), integrated_autocorr_time(abs_m)
    return {"energy": te, "abs_m": tm}


def _run(sw: SwendsenWang, n_sweeps: int, obs: Observables, pbar=None):
    e = np.empty((sw.n_chains, n_sweeps))
    m = np.empty((sw.n_chains, n_sweeps))
    for i in range(n_sweeps):  # Markov-chain time: sequential; chains are batched
        n_eq, counts = sw.sweep()
        e[:, i] = obs.energy(n_eq)
        m[:, i] = np.abs(obs.magnetization(counts))
        if pbar is not None:
            pbar.update(1)
    return e, m


def pilot_tau(L: int, q: int, beta_coupling: float, obs: Observables, rng: np.random.Generator,
              n_chains: int = 16, max_pilot_sweeps: int = 16384) -> dict:
    """Measure ``tau = max(tau_E, tau_|m|)`` (sweeps) with a doubling pilot run."""
    sw = SwendsenWang(L, q, beta_coupling, n_chains, rng)
    n = 128
    e, m = _run(sw, n, obs)
    while True:
        half = n // 2
        t = _taus(e[:, half:], m[:, half:])
        tau = max(t["energy"].tau, t["abs_m"].tau, 0.5)
        converged = t["energy"].converged and t["abs_m"].converged
        if converged and half >= 10 * tau and half >= 20 * tau:
            break
        if n >= max_pilot_sweeps:
            warnings.warn(
                f"pilot run of {n} sweeps did not resolve tau (tau >= {tau:.1f} sweeps); "
                "thermalisation and spacing use this lower bound", RuntimeWarning, stacklevel=3)
            break
        e2, m2 = _run(sw, n, obs)
        e, m = np.hstack([e, e2]), np.hstack([m, m2])
        n *= 2
    return {"tau": float(tau), "tau_energy": t["energy"].tau, "tau_abs_m": t["abs_m"].tau,
            "pilot_sweeps": n, "pilot_chains": n_chains, "pilot_converged": bool(converged)}


def default_n_chains(n_samples: int, L: int) -> int:
    """``ceil(n_samples / 20)`` chains (>= 20 saved samples per chain keeps the
    thermalisation cost below ~1/4 of the run), at most ``2^18 / L^2``."""
    return int(np.clip(math.ceil(n_samples / 20), 1, max(1, MAX_BATCH_SITES // (L * L))))


def sample(L: int, q: int, beta_coupling: float, obs: Observables, n_samples: int,
           rng: np.random.Generator, n_therm: int | None = None, spacing: int | None = None,
           n_chains: int | None = None, verbose: int = 0) -> SampleRun:
    """Equilibrium samples of the Potts/Ising model by batched Swendsen–Wang.

    ``n_therm`` and ``spacing`` default to ``ceil(10 tau)`` and ``ceil(2 tau)``
    with ``tau`` from :func:`pilot_tau`; given explicitly, the pilot still runs
    (tau is always recorded). Returns ``n_samples`` states, row ``k`` from chain
    ``k % n_chains``.
    """
    start = time.perf_counter()
    n_chains = default_n_chains(n_samples, L) if n_chains is None else int(n_chains)
    if n_chains < 1:
        raise ValueError(f"n_chains={n_chains!r} must be >= 1")
    pilot = pilot_tau(L, q, beta_coupling, obs, rng, n_chains=min(n_chains, 32))
    tau = pilot["tau"]
    n_therm = math.ceil(10 * tau) if n_therm is None else int(n_therm)
    spacing = max(1, math.ceil(2 * tau)) if spacing is None else int(spacing)
    if n_therm < 0 or spacing < 1:
        raise ValueError(f"need n_therm >= 0 and spacing >= 1, got {n_therm}, {spacing}")
    per_chain = math.ceil(n_samples / n_chains)
    n_prod = per_chain * spacing
    sw = SwendsenWang(L, q, beta_coupling, n_chains, rng)
    pbar = tqdm(total=n_therm + n_prod, disable=not verbose, desc="swendsen-wang sweeps")
    _run(sw, n_therm, obs, pbar)
    saved = np.empty((per_chain, n_chains, L, L), dtype=np.int8)
    e_sweep = np.empty((n_chains, n_prod))
    m_sweep = np.empty((n_chains, n_prod))
    for k in range(per_chain):
        saved[k] = sw.states
        e, m = _run(sw, spacing, obs, pbar)  # first column measures the saved state
        e_sweep[:, k * spacing:(k + 1) * spacing] = e
        m_sweep[:, k * spacing:(k + 1) * spacing] = m
    pbar.close()
    states = saved.reshape(-1, L, L)[:n_samples]
    counts = np.stack([(states == s).sum(axis=(1, 2)) for s in range(q)], axis=1)
    eq = ((states == np.roll(states, -1, 2)).sum((1, 2))
          + (states == np.roll(states, -1, 1)).sum((1, 2)))
    energy, mag = obs.energy(eq), obs.magnetization(counts)
    info = {
        "sampler": "swendsen-wang (batched, numpy/scipy)",
        "rule": "n_therm = ceil(10 tau), spacing = ceil(2 tau), tau = max(tau_E, tau_|m|) "
                "from a pilot run (sweeps)",
        **{f"pilot_{k}" if not k.startswith("pilot") else k: v for k, v in pilot.items()},
        "n_therm": n_therm, "spacing": spacing, "n_chains": n_chains,
        "samples_per_chain": per_chain, "bond_probability": sw.p_bond,
    }
    if n_prod >= 4:
        t = _taus(e_sweep, m_sweep)
        info["tau_sweep_energy"], info["tau_sweep_abs_m"] = t["energy"].tau, t["abs_m"].tau
    if per_chain >= 4:
        t = _taus(e_sweep[:, ::spacing], m_sweep[:, ::spacing])
        info["tau_saved_energy"], info["tau_saved_abs_m"] = t["energy"].tau, t["abs_m"].tau
        info["tau_saved_converged"] = bool(t["energy"].converged and t["abs_m"].converged)
    else:
        info["tau_saved_energy"] = info["tau_saved_abs_m"] = None
    info["seconds"] = time.perf_counter() - start
    return SampleRun(states=states, energy=energy, magnetization=mag, info=info)
