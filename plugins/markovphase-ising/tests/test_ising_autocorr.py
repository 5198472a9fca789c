import numpy as np

from markovphase_ising.autocorr import autocorrelation, integrated_autocorr_time


def _ar1(phi, n_chains, n, seed):
    rng = np.random.default_rng(seed)
    x = np.empty((n_chains, n))
    x[:, 0] = rng.standard_normal(n_chains) / np.sqrt(1 - phi**2)
    eps = rng.standard_normal((n_chains, n))
    for i in range(1, n):  # AR(1) recursion (test data only)
        x[:, i] = phi * x[:, i - 1] + eps[:, i]
    return x


def test_ar1_tau_matches_closed_form():
    """AR(1): rho(s) = phi^s, tau_int = 1/2 + phi/(1 - phi) = (1 + phi) / (2 (1 - phi))."""
    phi = 0.8
    res = integrated_autocorr_time(_ar1(phi, 64, 2000, 0))
    exact = (1 + phi) / (2 * (1 - phi))
    assert res.converged
    assert abs(res.tau - exact) < 4 * res.stderr + 0.02 * exact, (res, exact)
    rho = autocorrelation(_ar1(phi, 64, 2000, 1))
    np.testing.assert_allclose(rho[:4], phi ** np.arange(4), atol=0.02)


def test_independent_samples_have_tau_one_half():
    res = integrated_autocorr_time(np.random.default_rng(0).standard_normal((16, 5000)))
    assert res.converged and abs(res.tau - 0.5) < 0.03


def test_constant_series_has_tau_one_half():
    assert integrated_autocorr_time(np.ones((3, 50))).tau == 0.5


def test_short_series_is_flagged_not_converged():
    res = integrated_autocorr_time(_ar1(0.99, 2, 30, 0))
    assert not res.converged
