import numpy as np
import pytest

from markovphase_ising.exact import (
    ISING_TC,
    enumerate_potts,
    finite_size_energy,
    onsager_energy,
    onsager_magnetization,
    potts_tc,
)


@pytest.mark.parametrize("T", [1.2, 2.0, ISING_TC, 3.0, 5.0])
def test_kaufman_matches_brute_force_enumeration_4x4(T):
    states, p = enumerate_potts(4, 2, 2.0 / T)
    s = 1 - 2 * states.astype(float)
    e = -(s * np.roll(s, -1, 1) + s * np.roll(s, -1, 2)).sum((1, 2)) / 16
    assert finite_size_energy(T, 4) == pytest.approx(float(p @ e), abs=1e-8)


def test_onsager_known_values():
    assert onsager_energy(ISING_TC) == pytest.approx(-np.sqrt(2), abs=1e-6)
    assert ISING_TC == pytest.approx(2.269185314, abs=1e-9)
    assert onsager_magnetization(3.0) == 0.0
    # Yang: m(T=2) = (1 - sinh(1)^-4)^(1/8)
    assert onsager_magnetization(2.0) == pytest.approx((1 - np.sinh(1.0) ** -4) ** 0.125)
    assert potts_tc(2) == pytest.approx(ISING_TC / 2)  # q=2 Potts = Ising with J/2


@pytest.mark.parametrize("T", [2.0, 3.0])
def test_finite_size_energy_converges_to_onsager_away_from_tc(T):
    assert finite_size_energy(T, 64) == pytest.approx(onsager_energy(T), abs=1e-6)


def test_finite_size_energy_at_tc_for_L32():
    """Ferdinand & Fisher (1969): U(L=32, T_c) = -1.43366 (vs -sqrt 2 for L = infinity)."""
    assert finite_size_energy(ISING_TC, 32) == pytest.approx(-1.43366, abs=5e-5)
