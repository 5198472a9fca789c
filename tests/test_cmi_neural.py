"""Neural (masked-context density) and MINE CMI estimators against exact answers.

Default tests use small networks and few steps; their tolerances are the
held-out standard error (x4) plus an allowance for the training bias of a
short run, measured when the test was written. The calibration against the
noised Gaussian free field and the macrostate mixture (acceptance of issue 4)
is marked slow.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone

from markovphase.calibration import MacrostateMixture, gaussian_cmi, gff_covariance
from markovphase.cmi.mine import MINECMI
from markovphase.cmi.neural import NeuralCMI
from markovphase.diffusion import LinearPath
from markovphase.lattice import Lattice, Regions

FAST = dict(hidden=(32, 32), n_components=3, max_steps=500, batch_size=128)


def chain(n, seed=0):
    """A = B + C + e (all unit normal): I(A;C|B) = 1/2 log(2), I(A;B) = 1/2 log(3/2)."""
    rng = np.random.default_rng(seed)
    B, C, e = rng.standard_normal((3, n))
    return B + C + e, B, C


def test_gaussian_chain_value():
    A, B, C = chain(3000)
    r = NeuralCMI(**FAST, random_state=0).evaluate(A, C, B)
    exact = 0.5 * np.log(2)
    assert r.n_samples == 900 and r.pointwise.shape == (900,)
    assert np.isclose(r.pointwise.mean(), r.value)
    assert 0 < r.stderr < 0.05
    assert abs(r.value - exact) < 4 * r.stderr + 0.03, (r.value, r.stderr, exact)


def test_conditionally_independent_is_near_zero():
    rng = np.random.default_rng(1)
    B = rng.standard_normal((3000, 2))
    A = B[:, :1] + 0.5 * rng.standard_normal((3000, 1))
    C = B[:, 1:] + rng.standard_normal((3000, 1))  # C depends on B only: I(A;C|B) = 0
    r = NeuralCMI(**FAST, random_state=0).evaluate(A, C, B)
    assert abs(r.value) < 4 * r.stderr + 0.02, (r.value, r.stderr)


def test_two_dimensional_A_autoregressive():
    rng = np.random.default_rng(2)
    n = 3000
    B, C = rng.standard_normal((2, n))
    A = np.stack([B + C + rng.standard_normal(n), C + rng.standard_normal(n)], 1)
    # exact Gaussian CMI from the joint covariance of (A1, A2, B, C)
    cov = np.array([[3.0, 1, 1, 1], [1, 2, 0, 1], [1, 0, 1, 0], [1, 1, 0, 1]])
    exact = gaussian_cmi(cov, [0, 1], [3], [2])
    r = NeuralCMI(**FAST, random_state=0).evaluate(A, C, B)
    assert abs(r.value - exact) < 4 * r.stderr + 0.04, (r.value, r.stderr, exact)


def test_discrete_values_use_discretised_likelihood():
    # A = B xor C xor e, e ~ Bernoulli(0.1): I(A;C|B) = log 2 - h(0.1)
    rng = np.random.default_rng(3)
    n = 3000
    B, C = rng.integers(0, 2, (2, n))
    e = rng.random(n) < 0.1
    A = (B ^ C ^ e).astype(float)
    h = -(0.1 * np.log(0.1) + 0.9 * np.log(0.9))
    exact = np.log(2) - h
    est = NeuralCMI(**FAST, random_state=0)
    r = est.evaluate(A, C.astype(float), B.astype(float))
    assert abs(r.value - exact) < 4 * r.stderr + 0.03, (r.value, r.stderr, exact)
    # the terms are conditional entropies of a discrete variable: log 2 and h(0.1)
    assert abs(est.mask_terms_[0, 0] - np.log(2)) < 0.03
    assert abs(est.mask_terms_[0, 1] - h) < 0.05


def test_atoms_off_grid_are_not_estimable():
    rng = np.random.default_rng(4)
    n = 400
    B, C = rng.standard_normal((2, n))
    A = np.where(rng.random(n) < 0.5, 0.0, np.sqrt(2.0) * (1 + np.abs(B)))  # ties at 0, off-grid
    A[:3] = [0.0, np.pi, np.e]
    est = NeuralCMI(**{**FAST, "max_steps": 20}, random_state=0)
    with pytest.warns(RuntimeWarning, match="not on an even grid"):
        r = est.evaluate(A, C, B)
    assert np.isnan(r.value) and np.isnan(r.stderr)
    assert None in est.reasons_


def test_reproducible_pickle_clone():
    A, B, C = chain(600, seed=5)
    est = NeuralCMI(**{**FAST, "max_steps": 60}, random_state=7)
    r1 = est.evaluate(A, C, B)
    r2 = NeuralCMI(**{**FAST, "max_steps": 60}, random_state=7).evaluate(A, C, B)
    assert r1.value == r2.value and np.array_equal(r1.pointwise, r2.pointwise)
    back = pickle.loads(pickle.dumps(est))
    assert back.get_params() == est.get_params()
    for k, v in est.network_state_.items():
        assert v.device.type == "cpu" and (back.network_state_[k] == v).all()
    assert clone(est).get_params() == est.get_params()
    r3 = NeuralCMI(**{**FAST, "max_steps": 60}, random_state=8).evaluate(A, C, B)
    assert r3.value != r1.value


@pytest.mark.parametrize("params, match", [
    (dict(max_steps=0), "max_steps"),
    (dict(test_fraction=1.5), "test_fraction"),
    (dict(architecture="rnn"), "architecture"),
    (dict(hidden=()), "hidden"),
    (dict(device="gpu9"), "device"),
])
def test_bad_parameters_name_themselves(params, match):
    A, B, C = chain(100)
    with pytest.raises(ValueError, match=match):
        NeuralCMI(**params).evaluate(A, C, B)


def _gff_lattice(n, side=6, seed=0):
    lat = Lattice((side, side), periodic=True)
    cov = gff_covariance(lat.shape, 0.5)
    cov = cov / cov[0, 0]
    rng = np.random.default_rng(seed)
    X0 = rng.standard_normal((n, lat.n_sites)) @ np.linalg.cholesky(cov).T
    return lat, cov, X0, rng.standard_normal(X0.shape)


def _triples(lat, radii):
    regions = [lat.regions(None, r) for r in radii]
    A = regions[0].A
    others = np.setdiff1d(np.arange(lat.n_features), A)
    regions.append(Regions(A, np.array([], dtype=np.intp), others))
    return regions


def test_lattice_path_one_network_for_all_cells():
    lat, cov, X0, noise = _gff_lattice(3000)
    regions = _triples(lat, [1, 2])
    est = NeuralCMI(hidden=(64,), channels=8, n_components=3, max_steps=400, random_state=0)
    path = LinearPath()
    res = est.evaluate_path(X0, noise, path, [0.2, 0.6], regions, lattice=lat)
    assert set(res) == {0.2, 0.6} and all(len(v) == 3 for v in res.values())
    assert est.masks_.shape == (4, lat.n_features)  # B(1), B(2), empty, all-but-A
    for t, cells in res.items():
        cov_t = path.covariance(cov, t)
        for reg, r in zip(regions, cells, strict=True):
            exact = gaussian_cmi(cov_t, reg.A, reg.C, reg.B)
            # I(A;BC) is large (up to 0.35 nats): allow 15 % training bias of a short run
            assert abs(r.value - exact) < 4 * r.stderr + 0.02 + 0.15 * exact, (t, r, exact)
    # evaluate_regions (no path) on the clean field: CMI(r >= 1) = 0 exactly (Markov field)
    cells = est.evaluate_regions(X0, regions[:1], lattice=lat)
    assert abs(cells[0].value) < 4 * cells[0].stderr + 0.02


def test_lattice_clean_grid_data_at_t0():
    # pixels on the grid k/4 with many exact zeros (like MNIST at t = 0)
    lat, _, X0, noise = _gff_lattice(1500, side=5, seed=1)
    Xq = np.clip(np.round(X0 * 2) / 4, 0, 1)
    regions = _triples(lat, [1])
    est = NeuralCMI(hidden=(32,), channels=4, n_components=3, max_steps=300, random_state=0)
    res = est.evaluate_path(Xq, noise, LinearPath(), [0.0, 0.5], regions, lattice=lat)
    r0 = res[0.0]
    assert all(np.isfinite(r.value) for r in r0)
    # at t = 0 the cross-entropies are entropies of a 5-level variable: in [0, log 5]
    assert np.all(est.mask_terms_[0] > -1e-6) and np.all(est.mask_terms_[0] < np.log(5) + 0.1)
    # I(A;BC) >= I(A; right neighbour), whose plug-in value on the 5x5 table is ~0.086
    a, b = (np.round(Xq[:, k] * 4).astype(int) for k in (regions[0].A[0], regions[0].A[0] + 1))
    joint = np.zeros((5, 5))
    np.add.at(joint, (a, b), 1.0 / len(a))
    prod = joint.sum(1, keepdims=True) * joint.sum(0, keepdims=True)
    nz = joint > 0
    i_nb = float((joint[nz] * np.log(joint[nz] / prod[nz])).sum())
    assert i_nb > 0.05
    assert r0[1].value > i_nb - 3 * r0[1].stderr - 0.01, (r0[1], i_nb)


def test_mine_vector_and_lattice():
    A, B, C = chain(3000)
    r = MINECMI(hidden=(32, 32), max_steps=800, random_state=0).evaluate(A, C, B)
    exact = 0.5 * np.log(2)
    assert np.isfinite(r.stderr) and r.pointwise.shape == (900,)
    assert abs(r.value - exact) < 4 * r.stderr + 0.08, (r.value, r.stderr)
    lat, cov, X0, noise = _gff_lattice(1000, side=6)
    regions = _triples(lat, [1, 2])
    est = MINECMI(hidden=(32,), channels=4, max_steps=100, random_state=0)
    res = est.evaluate_path(X0, noise, LinearPath(), [0.5], regions, lattice=lat)[0.5]
    assert len(res) == 3 and all(np.isfinite(r.value) for r in res)
    assert est.masks_.shape[0] == 3  # B(1), B(2) and the shared B u C (no empty mask)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["gff", "mixture"])
def test_calibration_16x16(case):
    """Issue 4 acceptance on the 16x16 periodic lattice (one t-conditioned network)."""
    lat = Lattice((16, 16), periodic=True)
    cov = gff_covariance(lat.shape, 0.5)
    cov = cov / cov[0, 0]
    rng = np.random.default_rng(0)
    n = 20000
    if case == "gff":
        X0 = rng.standard_normal((n, lat.n_sites)) @ np.linalg.cholesky(cov).T
        times = [0.3, 0.5, 0.7]
    else:
        mix = MacrostateMixture(0.25 * cov, np.ones(lat.n_sites))
        X0 = mix.sample(n, rng)
        times = [0.1, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9]
    noise = rng.standard_normal(X0.shape)
    # the triples MarkovProbe passes: B(r), r = 1..4, plus (B empty, C = rest) for I(A;BC)
    regions = _triples(lat, [1, 2, 3, 4])
    path = LinearPath()
    res = NeuralCMI(max_steps=2000, random_state=0).evaluate_path(
        X0, noise, path, times, regions, lattice=lat)
    for t in times:
        for reg, r in zip(regions[:-1], res[t][:-1], strict=True):
            if case == "gff":
                exact = gaussian_cmi(path.covariance(cov, t), reg.A, reg.C, reg.B)
                tol = max(0.01, 2 * r.stderr)
            else:
                exact = mix.cmi(path, t, reg.A, reg.C, reg.B, n_mc=20000, rng=1)[0]
                tol = max(0.01, 0.2 * abs(exact))
            assert abs(r.value - exact) <= tol, (case, t, r.value, r.stderr, exact)


def test_gaussian_baseline_is_the_exact_linear_conditional():
    """The baseline's weights and residual scale are the Gaussian conditional of the
    standardised target given the visible features, at every time and mask."""
    from markovphase.cmi._baseline import gaussian_baseline

    rng = np.random.default_rng(0)
    cov0 = gff_covariance((4, 4), mass=0.5)
    X0 = rng.multivariate_normal(np.zeros(16), cov0, size=4000)
    alpha, sigma = np.array([0.9, 0.4]), np.array([0.1, 0.6])
    std = np.sqrt(alpha[:, None] ** 2 * X0.var(0)[None] + sigma[:, None] ** 2)
    masks = np.zeros((2, 16), bool)
    masks[0, [1, 4, 6, 9]] = True
    masks[1] = True
    masks[:, 5] = False
    W, logs = gaussian_baseline(X0, alpha, sigma, std, masks, np.zeros((1, 16)), [5], ridge=0)
    S = np.cov(X0, rowvar=False)
    for ti in range(2):
        C = (alpha[ti] ** 2 * S + sigma[ti] ** 2 * np.eye(16)) / np.outer(std[ti], std[ti])
        for mi in range(2):
            V = np.flatnonzero(masks[mi])
            w = np.linalg.solve(C[np.ix_(V, V)], C[V, 5])
            np.testing.assert_allclose(W[ti, mi, 0, V], w, rtol=1e-4, atol=1e-6)
            assert np.all(W[ti, mi, 0, np.setdiff1d(np.arange(16), V)] == 0)
            var = C[5, 5] - C[5, V] @ w
            assert np.isclose(np.exp(2 * logs[ti, mi, 0]), var, rtol=1e-4)


def test_gaussian_baseline_starts_at_the_gaussian_cmi():
    """With the baseline an (almost) untrained network already gives the Gaussian CMI of
    Gaussian data: the density starts at the exact Gaussian conditional."""
    shape = (6, 6)
    cov0 = gff_covariance(shape, mass=0.3)
    rng = np.random.default_rng(1)
    X0 = rng.multivariate_normal(np.zeros(36), cov0, size=6000)
    lat = Lattice(shape, 1, periodic=True)
    regions = [lat.regions(lat.center, r) for r in (1, 2)]
    noise = rng.standard_normal(X0.shape)
    path = LinearPath()
    est = NeuralCMI(hidden=(16,), channels=4, max_steps=20, learning_rate=1e-7,
                    gaussian_baseline=True, random_state=0)
    res = est.evaluate_path(X0, noise, path, [0.5], regions, lattice=lat)[0.5]
    for reg, cell in zip(regions, res, strict=True):
        exact = gaussian_cmi(path.covariance(cov0, 0.5), reg.A, reg.C, reg.B)
        assert abs(cell.value - exact) < 4 * cell.stderr + 0.003, (cell.value, exact)


def test_mine_the_authors_way_from_the_training_batches():
    """``batch_cmi_``: the DV bounds averaged over the training batches (the authors'
    estimate) for every (time, triple), near the exact CMI of the Gaussian chain."""
    A, B, C = chain(3000)
    est = MINECMI(hidden=(32, 32), max_steps=800, random_state=0)
    held = est.evaluate(A, C, B)
    exact = 0.5 * np.log(2)
    assert est.batch_mask_terms_.shape == (1, 2) and est.batch_cmi_.shape == (1, 1)
    np.testing.assert_allclose(est.batch_cmi_[0, 0],
                               est.batch_mask_terms_[0, 1] - est.batch_mask_terms_[0, 0])
    assert abs(est.batch_cmi_[0, 0] - exact) < 0.1, (est.batch_cmi_, held.value)


def test_tightest_nested_bound_takes_the_best_context_inside():
    from markovphase.cmi.neural import tightest_nested

    masks = np.array([[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 1], [0, 0, 1, 0]], bool)
    rng = np.random.default_rng(0)
    terms = rng.normal(size=(4, 50)) + np.array([1.0, 0.7, 0.9, 0.2])[:, None]
    out = tightest_nested(terms, masks)
    np.testing.assert_array_equal(out[0], terms[0])  # nothing inside S_0 but itself
    np.testing.assert_array_equal(out[1], terms[1])  # 0.7 beats S_0's 1.0
    np.testing.assert_array_equal(out[2], terms[3])  # S_3 (0.2) lies inside S_2 (0.9)
    np.testing.assert_array_equal(out[3], terms[3])
    with pytest.raises(ValueError, match="nested_bounds"):
        A, B, C = chain(100)
        NeuralCMI(nested_bounds="yes", **FAST).evaluate(A, C, B)
