"""Dataset adapters ``ising`` and ``potts`` (registered by :mod:`markovphase_ising.plugin`).

Both return a :class:`markovphase.datasets.Dataset` on a periodic L x L square
lattice, sampled by batched Swendsen–Wang with thermalisation and spacing
chosen from a measured autocorrelation time (:mod:`markovphase_ising.simulate`).
"""

from __future__ import annotations

import numpy as np
from markovphase.datasets import Dataset

from . import exact
from .simulate import Observables, sample


def _check(name: str, value, kind, low=None, allow_none=False):
    if value is None and allow_none:
        return
    ok_types = (int, np.integer) if kind is int else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, ok_types):
        raise TypeError(f"{name}={value!r} must be {'an int' if kind is int else 'a number'}")
    if not np.isfinite(value) or (low is not None and value < low):
        raise ValueError(f"{name}={value!r} must be >= {low}" if low is not None
                         else f"{name}={value!r} must be finite")


def _validate(L, temperature, coupling, n_samples, n_therm, spacing, n_chains):
    _check("L", L, int, 2)
    _check("temperature", temperature, float)
    if temperature <= 0:
        raise ValueError(f"temperature={temperature!r} must be > 0 (units of J / k_B)")
    _check("coupling", coupling, float)
    if coupling <= 0:
        raise ValueError(f"coupling={coupling!r} must be > 0 (ferromagnet)")
    _check("n_samples", n_samples, int, 1)
    _check("n_therm", n_therm, int, 0, allow_none=True)
    _check("spacing", spacing, int, 1, allow_none=True)
    _check("n_chains", n_chains, int, 1, allow_none=True)


def _stats(x: np.ndarray, tau: float | None) -> tuple[float, float]:
    """Mean and stderr ``sqrt(2 tau Var / n)`` (tau between saved samples, >= 1/2)."""
    tau = 0.5 if tau is None else max(float(tau), 0.5)
    return float(x.mean()), float(np.sqrt(2 * tau * x.var(ddof=1) / len(x))) if len(x) > 1 else 0.0


def load_ising(L: int = 32, temperature: float = 2.269185314213022, coupling: float = 1.0,
               n_samples: int = 4000, random_state: int | None = 0, n_therm: int | None = None,
               spacing: int | None = None, n_chains: int | None = None,
               verbose: int = 0) -> Dataset:
    """2-D Ising model ``H = -J sum_<ij> s_i s_j`` on a periodic L x L lattice, spins +-1.

    Parameters
    ----------
    L : int, default=32
        Linear size; ``X`` has ``L*L`` features (C-order), one channel.
    temperature : float, default=T_c = 2/ln(1+sqrt 2) ~ 2.2692
        In units of J/k_B.
    coupling : float, default=1.0
        J > 0 (energies are reported in the same unit).
    n_samples : int, default=4000
        Enough for the Gaussian CMI of a ``markovphase scan`` on 32 x 32
        (it needs more samples than the L*L coordinates).
    random_state : int or None, default=0
        Seed of numpy's PCG64 generator.
    n_therm, spacing : int or None, default=None
        Sweeps before the first saved sample and between saved samples. None:
        ``ceil(10 tau)`` and ``ceil(2 tau)``, ``tau = max(tau_E, tau_|m|)`` in
        sweeps measured by a pilot run.
    n_chains : int or None, default=None
        Independent chains run as one batch (None: ``ceil(n_samples / 20)``,
        at most ``2^18 / L^2``).
    verbose : int, default=0
        Progress bar when > 0.

    Returns
    -------
    Dataset
        ``X`` (n_samples, L*L) float64 of +-1; ``target`` = sign of the
        magnetisation (+1, -1, or 0 on an exact tie); ``periodic=True``;
        ``metadata`` holds the per-sample ``energy`` (per spin, units of J) and
        ``magnetization`` arrays, their means and stderrs, the measured tau's
        (pilot, per sweep, between saved samples), ``n_therm``, ``spacing``,
        and Onsager's / Kaufman's exact values for comparison.
    """
    _validate(L, temperature, coupling, n_samples, n_therm, spacing, n_chains)
    rng = np.random.default_rng(random_state)
    obs = Observables(ising=True, coupling=float(coupling), n_sites=L * L, q=2)
    run = sample(L, 2, 2.0 * coupling / temperature, obs, n_samples, rng, n_therm=n_therm,
                 spacing=spacing, n_chains=n_chains, verbose=verbose)
    X = (1 - 2 * run.states.reshape(n_samples, L * L)).astype(np.float64)
    m = run.magnetization
    tau = run.info.get("tau_saved_abs_m")
    e_mean, e_se = _stats(run.energy, run.info.get("tau_saved_energy"))
    am_mean, am_se = _stats(np.abs(m), tau)
    meta = {
        "model": "ising", "L": L, "temperature": float(temperature), "coupling": float(coupling),
        "random_state": random_state, **run.info,
        "energy": run.energy, "magnetization": m,
        "energy_mean": e_mean, "energy_stderr": e_se,
        "abs_magnetization_mean": am_mean, "abs_magnetization_stderr": am_se,
        "exact_energy_finite_size": exact.finite_size_energy(temperature, L, coupling=coupling),
        "onsager_energy": exact.onsager_energy(temperature, coupling),
        "onsager_magnetization": exact.onsager_magnetization(temperature, coupling),
        "critical_temperature": float(exact.ISING_TC * coupling),
        "values": "spins +1/-1 (float64)",
    }
    return Dataset(X=X, lattice_shape=(L, L), n_channels=1, target=np.sign(m).astype(int),
                   periodic=True, name="ising", metadata=meta)


def load_potts(L: int = 32, temperature: float = 0.994972861071817, q: int = 3,
               coupling: float = 1.0, n_samples: int = 4000, random_state: int | None = 0,
               n_therm: int | None = None, spacing: int | None = None,
               n_chains: int | None = None, verbose: int = 0) -> Dataset:
    """2-D q-state Potts model ``H = -J sum_<ij> delta(s_i, s_j)``, periodic L x L, one-hot.

    The state of each site is one-hot encoded in q channels.

    Parameters
    ----------
    L : int, default=32
    temperature : float, default=T_c(q=3) = 1/ln(1+sqrt 3) ~ 0.99497
        In units of J/k_B; ``T_c(q) = J / ln(1 + sqrt q)``.
    q : int, default=3
        Number of states, 2 <= q <= 127.
    coupling, n_samples, random_state, n_therm, spacing, n_chains, verbose
        As in :func:`load_ising` (bond probability ``1 - exp(-J/T)``).

    Returns
    -------
    Dataset
        ``X`` (n_samples, L*L*q) float64, site-major with the q one-hot
        channels last (``X.reshape(n, L, L, q)``); ``n_channels=q``;
        ``target`` = majority state (lowest index on ties); metadata as in
        :func:`load_ising` with the order parameter
        ``m = (q max_k n_k / N - 1) / (q - 1)``.
    """
    _validate(L, temperature, coupling, n_samples, n_therm, spacing, n_chains)
    _check("q", q, int, 2)
    if q > 127:
        raise ValueError(f"q={q!r} must be <= 127")
    rng = np.random.default_rng(random_state)
    obs = Observables(ising=False, coupling=float(coupling), n_sites=L * L, q=q)
    run = sample(L, q, coupling / temperature, obs, n_samples, rng, n_therm=n_therm,
                 spacing=spacing, n_chains=n_chains, verbose=verbose)
    X = np.eye(q, dtype=np.float64)[run.states.reshape(n_samples, L * L)].reshape(n_samples, -1)
    counts = np.stack([(run.states == k).sum(axis=(1, 2)) for k in range(q)], axis=1)
    e_mean, e_se = _stats(run.energy, run.info.get("tau_saved_energy"))
    m_mean, m_se = _stats(run.magnetization, run.info.get("tau_saved_abs_m"))
    meta = {
        "model": "potts", "L": L, "q": q, "temperature": float(temperature),
        "coupling": float(coupling), "random_state": random_state, **run.info,
        "energy": run.energy, "magnetization": run.magnetization,
        "energy_mean": e_mean, "energy_stderr": e_se,
        "abs_magnetization_mean": m_mean, "abs_magnetization_stderr": m_se,
        "critical_temperature": float(exact.potts_tc(q, coupling)),
        "values": f"one-hot over q={q} channels (float64 0/1)",
    }
    return Dataset(X=X, lattice_shape=(L, L), n_channels=q, target=counts.argmax(axis=1),
                   periodic=True, name="potts", metadata=meta)
