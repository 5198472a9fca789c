"""The sampler samples the Boltzmann distribution: exact enumeration on tiny lattices."""

import math

import numpy as np
import pytest
from scipy.stats import chisquare

from markovphase_ising.autocorr import integrated_autocorr_time
from markovphase_ising.exact import enumerate_potts
from markovphase_ising.sampler import SwendsenWang, metropolis_checkerboard


def _state_index(states: np.ndarray, q: int) -> np.ndarray:
    flat = states.reshape(len(states), -1).astype(np.int64)
    return flat @ (q ** np.arange(flat.shape[1] - 1, -1, -1))  # itertools.product order


def _grouped_chisquare(counts: np.ndarray, p: np.ndarray):
    """Chi-square of observed state counts vs ``p``; states sorted by probability and
    pooled into consecutive groups of >= 10 expected counts (the rare states pool)."""
    expected = p * counts.sum()
    order = np.argsort(expected)
    groups = np.floor(np.cumsum(expected[order]) / 10.0).astype(int)
    groups = np.minimum(groups, groups.max() - 1) if groups.max() > 0 else groups
    _, groups = np.unique(groups, return_inverse=True)
    return chisquare(np.bincount(groups, weights=counts[order]),
                     np.bincount(groups, weights=expected[order]))


def _sw_histogram(L, q, beta_coupling, n_chains, n_saves, spacing, seed):
    sw = SwendsenWang(L, q, beta_coupling, n_chains, np.random.default_rng(seed))
    for _ in range(20):
        sw.sweep()
    idx = []
    for _ in range(n_saves):
        for _ in range(spacing):
            sw.sweep()
        idx.append(_state_index(sw.states, q))
    return np.bincount(np.concatenate(idx), minlength=q ** (L * L))


@pytest.mark.parametrize("L, q, beta_coupling", [
    (3, 2, 2.0 / 2.0),     # Ising at T = 2.0 (beta J_potts = 2 beta J)
    (3, 2, 2.0 / 3.0),     # Ising at T = 3.0
    (2, 3, 1.0 / 0.995),   # Potts q = 3 near T_c (L = 2: every pair bonded twice)
])
def test_swendsen_wang_matches_boltzmann_distribution(L, q, beta_coupling):
    """Histogram over all q^(L^2) states vs exp(-beta H)/Z: chi-square goodness of fit."""
    states, p = enumerate_potts(L, q, beta_coupling)
    assert np.isclose(p.sum(), 1.0) and len(p) == q ** (L * L)
    counts = _sw_histogram(L, q, beta_coupling, n_chains=3000, n_saves=10, spacing=5, seed=1)
    stat, pvalue = _grouped_chisquare(counts, p)
    assert pvalue > 1e-4, (stat, pvalue)


def test_chi_square_has_power_against_wrong_temperature():
    """The same test rejects samples drawn at T = 2.3 when the target is T = 2.0."""
    _, p = enumerate_potts(3, 2, 1.0)
    counts = _sw_histogram(3, 2, 2.0 / 2.3, n_chains=3000, n_saves=10, spacing=5, seed=2)
    _, pvalue = _grouped_chisquare(counts, p)
    assert pvalue < 1e-6


def test_sweep_reports_energy_and_counts_of_the_state_before_the_update():
    sw = SwendsenWang(5, 3, 0.7, 4, np.random.default_rng(0))
    s = sw.states.copy()
    n_eq, counts = sw.sweep()
    expect_eq = ((s == np.roll(s, -1, 2)).sum((1, 2)) + (s == np.roll(s, -1, 1)).sum((1, 2)))
    np.testing.assert_array_equal(n_eq, expect_eq)
    np.testing.assert_array_equal(counts, [[np.sum(c == k) for k in range(3)] for c in s])
    assert sw.states.dtype == np.int8 and sw.states.min() >= 0 and sw.states.max() < 3


def test_zero_temperature_limit_orders_each_chain():
    """beta J -> large: every bond between equal neighbours is occupied; one SW sweep
    from any state keeps equal-neighbour clusters, and a few sweeps reach a ground state."""
    sw = SwendsenWang(6, 2, 50.0, 8, np.random.default_rng(3))
    for _ in range(60):
        sw.sweep()
    flat = sw.states.reshape(8, -1)
    assert np.all(flat == flat[:, :1])


@pytest.mark.parametrize("bad, match", [
    ({"L": 1}, "L=1"), ({"q": 1}, "q=1"), ({"beta_coupling": -1.0}, "beta_coupling"),
    ({"n_chains": 0}, "n_chains"),
])
def test_sampler_rejects_bad_parameters(bad, match):
    kw = {"L": 4, "q": 2, "beta_coupling": 0.5, "n_chains": 2, "rng": np.random.default_rng(0)}
    kw.update(bad)
    with pytest.raises(ValueError, match=match):
        SwendsenWang(**kw)


def test_metropolis_reference_samples_the_same_energy():
    """The benchmark's reference sampler agrees with exact enumeration (L = 4, T = 3)."""
    T = 3.0
    states, p = enumerate_potts(4, 2, 2.0 / T)
    s = 1 - 2 * states.astype(float)
    e_exact = float(p @ (-(s * np.roll(s, -1, 1) + s * np.roll(s, -1, 2)).sum((1, 2)) / 16))
    rng = np.random.default_rng(0)
    spins = rng.choice(np.array([-1, 1], dtype=np.int8), size=(500, 4, 4))
    _, energy, _ = metropolis_checkerboard(spins, 1.0 / T, 400, rng)
    e = energy[100:]
    tau = integrated_autocorr_time(e.T).tau
    se = math.sqrt(2 * tau * e.var() / e.size)
    assert abs(e.mean() - e_exact) < 4 * se, (e.mean(), e_exact, se)
