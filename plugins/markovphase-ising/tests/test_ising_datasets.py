"""Dataset adapters: contract, one-hot Potts, the tau rule, physics on small lattices."""

import math

import numpy as np
import pytest

from markovphase_ising import load_ising, load_potts
from markovphase_ising.exact import enumerate_potts, finite_size_energy, potts_tc


def test_ising_dataset_contract():
    ds = load_ising(L=8, temperature=2.0, n_samples=120, random_state=0)
    assert ds.X.shape == (120, 64) and ds.X.dtype == np.float64
    assert set(np.unique(ds.X)) == {-1.0, 1.0}
    assert ds.lattice_shape == (8, 8) and ds.n_channels == 1 and ds.periodic
    np.testing.assert_array_equal(ds.target, np.sign(ds.X.sum(1)))
    md = ds.metadata
    np.testing.assert_allclose(md["magnetization"], ds.X.mean(1))
    s = ds.X.reshape(-1, 8, 8)
    e = -(s * np.roll(s, -1, 1) + s * np.roll(s, -1, 2)).sum((1, 2)) / 64
    np.testing.assert_allclose(md["energy"], e)


def test_thermalisation_and_spacing_follow_the_measured_tau():
    ds = load_ising(L=16, temperature=2.269185314213022, n_samples=400, random_state=1)
    md = ds.metadata
    assert md["pilot_converged"]
    assert md["n_therm"] == math.ceil(10 * md["pilot_tau"])
    assert md["spacing"] == max(1, math.ceil(2 * md["pilot_tau"]))
    assert md["pilot_tau"] >= max(md["pilot_tau_energy"], md["pilot_tau_abs_m"])
    assert md["tau_saved_abs_m"] <= 1.0 and md["tau_saved_energy"] <= 1.0
    # SW near T_c: tau of a few sweeps (Metropolis would need ~L^2.17 ~ 400)
    assert 1.0 < md["tau_sweep_energy"] < 10.0


def test_explicit_thermalisation_and_spacing_are_used():
    md = load_ising(L=6, n_samples=30, n_therm=7, spacing=3, n_chains=5).metadata
    assert (md["n_therm"], md["spacing"], md["n_chains"], md["samples_per_chain"]) == (7, 3, 5, 6)


def test_same_seed_same_samples():
    a = load_ising(L=6, n_samples=50, random_state=3).X
    b = load_ising(L=6, n_samples=50, random_state=3).X
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, load_ising(L=6, n_samples=50, random_state=4).X)


def test_potts_one_hot_channels():
    q = 4
    ds = load_potts(L=6, q=q, temperature=0.8, n_samples=80, random_state=0)
    assert ds.X.shape == (80, 36 * q) and ds.n_channels == q and ds.periodic
    onehot = ds.X.reshape(80, 6, 6, q)
    assert set(np.unique(onehot)) == {0.0, 1.0}
    np.testing.assert_array_equal(onehot.sum(-1), 1.0)
    counts = onehot.sum((1, 2))
    np.testing.assert_array_equal(ds.target, counts.argmax(1))
    np.testing.assert_allclose(ds.metadata["magnetization"],
                               (q * counts.max(1) / 36 - 1) / (q - 1))


def test_ising_small_lattice_matches_exact_enumeration():
    """L = 4 at T_c: <e> and <|m|> against the exact sums over all 2^16 states."""
    T = 2.269185314213022
    states, p = enumerate_potts(4, 2, 2.0 / T)
    s = 1 - 2 * states.astype(float)
    e_exact = p @ (-(s * np.roll(s, -1, 1) + s * np.roll(s, -1, 2)).sum((1, 2)) / 16)
    m_exact = p @ np.abs(s.mean((1, 2)))
    assert e_exact == pytest.approx(finite_size_energy(T, 4), abs=1e-8)
    md = load_ising(L=4, temperature=T, n_samples=6000, random_state=5).metadata
    assert abs(md["energy_mean"] - e_exact) < 4 * md["energy_stderr"]
    assert abs(md["abs_magnetization_mean"] - m_exact) < 4 * md["abs_magnetization_stderr"]


def test_potts_small_lattice_matches_exact_enumeration():
    """q = 3, L = 3 (3^9 states) at T_c: energy and order parameter."""
    q, L, T = 3, 3, potts_tc(3)
    states, p = enumerate_potts(L, q, 1.0 / T)
    n_eq = ((states == np.roll(states, -1, 2)).sum((1, 2))
            + (states == np.roll(states, -1, 1)).sum((1, 2)))
    counts = np.stack([(states == k).sum((1, 2)) for k in range(q)], 1)
    e_exact = p @ (-n_eq / L**2)
    m_exact = p @ ((q * counts.max(1) / L**2 - 1) / (q - 1))
    md = load_potts(L=L, q=q, temperature=T, n_samples=6000, random_state=2).metadata
    assert abs(md["energy_mean"] - e_exact) < 4 * md["energy_stderr"]
    assert abs(md["abs_magnetization_mean"] - m_exact) < 4 * md["abs_magnetization_stderr"]


@pytest.mark.parametrize("loader, bad, match", [
    (load_ising, {"L": 1}, "L=1"),
    (load_ising, {"temperature": -1.0}, "temperature=-1.0"),
    (load_ising, {"coupling": 0.0}, "coupling=0.0"),
    (load_ising, {"n_samples": 0}, "n_samples=0"),
    (load_ising, {"spacing": 0}, "spacing=0"),
    (load_potts, {"q": 1}, "q=1"),
    (load_potts, {"q": 200}, "q=200"),
])
def test_bad_parameters_name_the_parameter(loader, bad, match):
    with pytest.raises(ValueError, match=match):
        loader(**{"L": 4, "n_samples": 10, **bad})


def test_non_integer_size_is_a_type_error():
    with pytest.raises(TypeError, match="L=4.5"):
        load_ising(L=4.5, n_samples=10)
