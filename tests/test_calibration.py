"""The exact calibration suite: mixture densities, exact CMI, cases, runner and report."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from exact_gaussian import exact_cmi, linear_path_cov
from scipy.special import logsumexp
from scipy.stats import multivariate_normal as mvn

from markovphase.calibration import (
    CASES,
    GaussianMixtureModel,
    HiddenIsingChain,
    get_case,
    gff_covariance,
    mixture_cmi,
    mixture_cmi_path,
    nested_chains,
    parse_case_spec,
)
from markovphase.calibration.report import format_table, summary, write_calibration
from markovphase.calibration.runner import exact_table, run_calibration, tolerance
from markovphase.diffusion import LinearPath, get_path
from markovphase.lattice import Lattice, Regions

REFERENCE = Path("/work/shared/calibration/reference_values.json")


def random_mixture(ct, K=3, D=7, q=2, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.ones(K))
    mu = rng.normal(size=(K, D))
    F = rng.normal(size=(K, D, q))
    d = rng.uniform(0.5, 1.5, (K, D))
    if ct == "full":
        return GaussianMixtureModel(w, mu, np.einsum("kdq,keq->kde", F, F) + d[:, :, None]
                                    * np.eye(D), "full")
    if ct == "lowrank":
        return GaussianMixtureModel(w, mu, d, "lowrank", F)
    if ct == "diag":
        return GaussianMixtureModel(w, mu, d, "diag")
    return GaussianMixtureModel(w, mu, d[:, 0], "spherical")


def brute_logpdf(model, X, S):
    """log sum_k w_k N(x_S; mu_k[S], Sigma_k[S, S]) with scipy (an independent oracle)."""
    comps = [np.log(model.weights[k])
             + mvn(model.means[k][S], model.component_covariance(k)[np.ix_(S, S)]).logpdf(X[:, S])
             for k in range(model.n_components)]
    return logsumexp(np.atleast_2d(np.array(comps)), axis=0)


# --------------------------------------------------------------------------- mixture densities
@pytest.mark.parametrize("ct", ["full", "lowrank", "diag", "spherical"])
def test_prefix_logpdfs_match_scipy(ct):
    model = random_mixture(ct)
    X = np.random.default_rng(1).normal(size=(40, 7))
    for A, blocks in [([3], [[2, 4], [1, 5], [0, 6]]), ([3, 1], [[2], [0, 4, 5, 6]]),
                      ([], [[0, 2, 5]]), ([3, 1], [])]:  # no blocks: log p(x_A) alone
        lp, lp_a = model.prefix_logpdfs(X, A, [np.array(b) for b in blocks])
        for i in range(len(blocks) + 1):
            P = [f for b in blocks[:i] for f in b]
            if P:
                np.testing.assert_allclose(lp[:, i], brute_logpdf(model, X, P), atol=1e-9)
            if A:
                np.testing.assert_allclose(lp_a[:, i], brute_logpdf(model, X, A + P), atol=1e-9)
    np.testing.assert_allclose(model.logpdf(X[:, [6, 0]], [6, 0]),
                               brute_logpdf(model, X, [6, 0]), atol=1e-9)


@pytest.mark.parametrize("ct", ["full", "lowrank", "diag", "spherical"])
def test_noised_mixture_is_the_path_law(ct):
    model = random_mixture(ct, seed=2)
    path = get_path("cosine")
    t = 0.4
    a = path.alpha(t)
    noised = model.noised(path, t)
    np.testing.assert_allclose(noised.means, a * model.means)
    for k in range(model.n_components):
        np.testing.assert_allclose(noised.component_covariance(k),
                                   path.covariance(model.component_covariance(k), t))
    # sampling: the mixture mean and covariance
    X = model.sample(200_000, 0)
    mean = model.weights @ model.means
    cov = sum(w * (model.component_covariance(k) + np.outer(m - mean, m - mean))
              for k, (w, m) in enumerate(zip(model.weights, model.means, strict=True)))
    np.testing.assert_allclose(X.mean(0), mean, atol=0.02)
    np.testing.assert_allclose(np.cov(X, rowvar=False), cov, atol=0.06)


def test_mixture_parameters_are_validated():
    with pytest.raises(ValueError, match="covariance_type='banded'"):
        GaussianMixtureModel([1.0], np.zeros((1, 2)), np.eye(2)[None], "banded")
    with pytest.raises(ValueError, match="weights must be non-negative and sum to 1"):
        GaussianMixtureModel([0.5, 0.6], np.zeros((2, 2)), np.ones(2), "spherical")
    with pytest.raises(ValueError, match=r"covariances of a 'full' mixture must have shape"):
        GaussianMixtureModel([1.0], np.zeros((1, 2)), np.ones((1, 2)), "full")
    with pytest.raises(ValueError, match="factors must have shape"):
        GaussianMixtureModel([1.0], np.zeros((1, 2)), np.ones((1, 2)), "lowrank",
                             np.ones((1, 3, 1)))


# --------------------------------------------------------------------------- exact CMI
def test_one_component_is_the_gaussian_log_det_formula():
    lat = Lattice((9, 9))
    cov0 = gff_covariance(lat.shape, 0.4)
    model = GaussianMixtureModel([1.0], np.zeros((1, lat.n_sites)), cov0[None], "full")
    regions = [lat.regions((4, 4), r) for r in (1, 2, 3)]
    for t in (0.2, 0.6):
        got = mixture_cmi(model.noised("linear", t), regions)
        for reg, res in zip(regions, got, strict=True):
            want = exact_cmi(linear_path_cov(cov0, t), reg.A, reg.C, reg.B)
            assert res.stderr == 0.0
            assert abs(res.value - want) < 1e-10, (res.value, want)


def test_gaussian_field_clean_cmi_is_zero_beyond_the_neighbours():
    case = get_case("gaussian-field", side=11)
    table = case.exact_cmi(times=[0.0, 0.5], radii=[1, 2, 3])
    clean = table[table.t == 0.0]
    np.testing.assert_allclose(clean.exact, 0.0, atol=1e-9)
    noised = table[table.t == 0.5].exact.to_numpy()
    assert noised[0] > 1e-3 and np.all(np.diff(noised) < 0)  # noise creates decaying CMI


def test_monte_carlo_cmi_matches_brute_force_terms():
    model = random_mixture("full", K=2, D=5, seed=3)
    reg = Regions(np.array([2]), np.array([1, 3]), np.array([0, 4]))
    X = model.sample(3000, 4)
    res = mixture_cmi(model, [reg], X=X)[0]
    d = (brute_logpdf(model, X, [2, 1, 3, 0, 4]) + brute_logpdf(model, X, [1, 3])
         - brute_logpdf(model, X, [2, 1, 3]) - brute_logpdf(model, X, [1, 3, 0, 4]))
    np.testing.assert_allclose(res.pointwise, d, atol=1e-9)
    assert res.value == pytest.approx(d.mean()) and res.stderr > 0


def test_nested_chains_group_rings_and_split_the_rest():
    lat = Lattice((7, 7))
    rings = [lat.regions((3, 3), r) for r in (1, 2)]
    everything = Regions(rings[0].A, np.empty(0, np.intp), np.r_[rings[0].B, rings[0].C])
    other_site = lat.regions((1, 1), 1)
    crossing = Regions(rings[0].A, np.array([0, 1]), np.setdiff1d(np.r_[rings[0].B,
                                                                        rings[0].C], [0, 1]))
    regions = [rings[1], other_site, everything, rings[0], crossing]
    chains = nested_chains(regions)
    assert sorted(i for ch in chains for i, _ in ch.members) == [0, 1, 2, 3, 4]
    assert len(chains) == 3  # the crossing B is not nested with the rings
    assert len(nested_chains([rings[1], everything, rings[0]])) == 1
    model = random_mixture("full", K=2, D=49, q=3, seed=5)
    X = model.sample(500, 1)
    together = mixture_cmi(model, regions, X=X)
    alone = [mixture_cmi(model, [r], X=X)[0] for r in regions]
    for a, b in zip(together, alone, strict=True):
        np.testing.assert_allclose(a.pointwise, b.pointwise, atol=1e-9)


def brute_chain_logpdf(chain: HiddenIsingChain, x, sites, alpha, sigma):
    """Enumerate all 2^L hidden configurations (an independent oracle)."""
    L = chain.length
    lam = np.tanh(chain.coupling)
    m, v = alpha * chain.amplitude, alpha**2 * chain.noise**2 + sigma**2
    total = np.zeros(len(x))
    for s in itertools.product([-1.0, 1.0], repeat=L):
        s = np.array(s)
        same = s[1:] == s[:-1]
        prior = 0.5 * np.prod(np.where(same, (1 + lam) / 2, (1 - lam) / 2))
        like = np.prod(np.exp(-(x[:, sites] - m * s[sites]) ** 2 / (2 * v))
                       / np.sqrt(2 * np.pi * v), axis=1)
        total += prior * like
    return np.log(total)


def test_ising_chain_forward_recursion_is_exact():
    chain = HiddenIsingChain(length=7, coupling=0.7, amplitude=0.8, noise=0.3)
    X = chain.sample(25, 0)
    a, s = 0.6, 0.4
    Xt = a * X + s * np.random.default_rng(1).normal(size=X.shape)
    for sites in ([0, 1, 2, 3, 4, 5, 6], [3], [1, 2, 4, 6], [6, 0]):
        np.testing.assert_allclose(chain.logpdf(Xt, sites, a, s),
                                   brute_chain_logpdf(chain, Xt, sorted(sites), a, s), atol=1e-10)
    # the sampler: nearest-neighbour spin correlation tanh(K) at distance 1, tanh(K)^3 at 3
    Xc = HiddenIsingChain(40, 0.7, 1.0, 0.0).sample(20_000, 2)
    assert np.mean(Xc[:, 10] * Xc[:, 11]) == pytest.approx(np.tanh(0.7), abs=0.02)
    assert np.mean(Xc[:, 10] * Xc[:, 13]) == pytest.approx(np.tanh(0.7) ** 3, abs=0.02)


# --------------------------------------------------------------------------- cases
def test_case_spec_values_are_literals_and_brackets_keep_their_commas():
    assert parse_case_spec("class-templates:tau=0.25,random_state=3") == (
        "class-templates", {"tau": 0.25, "random_state": 3})
    assert parse_case_spec("mixture:n_components=(1, 10),covariance_type=['full','lowrank'],"
                           "mode=model") == ("mixture", {"n_components": (1, 10),
                                                         "covariance_type": ["full", "lowrank"],
                                                         "mode": "model"})
    assert parse_case_spec("gaussian") == ("gaussian", {})
    with pytest.raises(ValueError, match="'tau' is not KEY=VALUE"):
        parse_case_spec("class-templates:tau")


def test_registered_cases_and_validation():
    assert set(CASES) == {"gaussian-field", "class-templates", "class-gaussians",
                          "kmeans-clusters", "ising-chain"}
    with pytest.raises(ValueError, match=r"tau=-0\.1 must lie in"):
        get_case("class-templates", tau=-0.1)
    with pytest.raises(ValueError, match=r"n_clusters=1 must lie in \[2"):
        get_case("kmeans-clusters", n_clusters=1)
    with pytest.raises(ValueError, match="covariance_type='band'"):
        get_case("kmeans-clusters", covariance_type="band")
    with pytest.raises(ValueError, match="coupling=0"):
        get_case("ising-chain", coupling=0)
    with pytest.raises(TypeError, match="eps='a' must be a real number"):
        get_case("class-gaussians", eps="a")
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['taus'\]"):
        get_case("class-templates", taus=0.2)
    with pytest.raises(ValueError, match="case='nope' is unknown"):
        get_case("nope")
    with pytest.raises(ValueError, match=r"radii=\[0, 13\]"):
        get_case("class-templates").check_radii([0, 13])


def test_case_specs_set_parameters_like_keywords():
    spec = get_case("class-templates:tau=0.25,random_state=3")
    assert spec.params == get_case("class-templates", tau=0.25, random_state=3).params
    # keywords fill in what the spec leaves out; the spec wins where both set a key
    assert get_case("ising-chain:coupling=0.7", random_state=5, coupling=2.0).params == \
        get_case("ising-chain", coupling=0.7, random_state=5).params
    with pytest.raises(ValueError, match="'tau' is not KEY=VALUE"):
        get_case("class-templates:tau")


def test_mnist_cases_are_built_from_the_paper_crop():
    tmpl = get_case("class-templates", tau=0.3, random_state=1)
    assert tmpl.lattice_shape == (27, 27) and tmpl.site == (13, 13)
    assert tmpl.model.n_components == 10 and tmpl.model.covariance_type == "spherical"
    np.testing.assert_allclose(tmpl.model.covariances, 0.09)
    assert tmpl.model.weights[1] == pytest.approx(1135 / 10000)  # digit 1 in the test set
    X = tmpl.sample_clean(50)
    np.testing.assert_array_equal(X, tmpl.sample_clean(50, random_state=1))
    assert X.shape == (50, 729) and not np.array_equal(X, tmpl.sample_clean(50, random_state=2))
    km = get_case("kmeans-clusters", n_clusters=4, covariance_type="lowrank", n_factors=3)
    assert km.model.factors.shape == (4, 729, 3) and km.label.startswith("kmeans-clusters-n_")


def test_ising_case_table():
    case = get_case("ising-chain", length=31, coupling=1.2, random_state=3)
    assert case.lattice_shape == (31,) and case.site == (15,)
    table = case.exact_cmi(times=[0.2, 0.6], radii=[1, 2, 4], n_mc=4000)
    assert list(table.columns) == ["t", "r", "exact", "exact_stderr"] and len(table) == 6
    first = table[table.t == 0.2].exact.to_numpy()
    assert first[0] > 0.02 and first[0] > first[1] > first[2] - 3 * 0.002
    assert np.all(table.exact_stderr > 0)


@pytest.mark.slow
def test_reference_values_are_reproduced():
    """Our exact code against values computed independently (shared/calibration)."""
    ref = json.loads(REFERENCE.read_text())
    cases = {"class-templates-tau0.3": get_case("class-templates", tau=0.3),
             "class-gaussians-eps0.02": get_case("class-gaussians", eps=0.02)}
    for name, case in cases.items():
        rows = pd.DataFrame(ref["cases"][name])
        radii = sorted(rows.r.unique())
        times = sorted(rows.t.unique())
        table = case.exact_cmi(times, radii, n_mc=40_000, random_state=11)
        both = rows.merge(table, on=["t", "r"])
        z = (both.exact - both.cmi) / np.sqrt(both.exact_stderr**2 + both.stderr**2 + 1e-10)
        assert len(both) == len(rows) and np.all(np.abs(z) < 4), both.assign(z=z)
        assert np.mean(np.abs(z) < 2) > 0.75, both.assign(z=z)


# --------------------------------------------------------------------------- runner and report
def test_run_calibration_table_cache_and_report(tmp_path):
    case = get_case("gaussian-field", side=9, mass=0.3, scale=1.0, random_state=4)
    table = run_calibration("gaussian", cases=[case], times=[0.3, 0.6], radii=[1, 2],
                            n_samples=4000, cache_dir=tmp_path / "cache")
    assert list(table.columns) == ["case", "params", "t", "r", "estimate", "stderr", "exact",
                                   "exact_stderr", "error", "tolerance", "passed", "seconds"]
    assert len(table) == 4 and set(table.case) == {"gaussian-field"}
    want = case.exact_cmi([0.3, 0.6], [1, 2])
    np.testing.assert_allclose(table.exact, want.exact)
    np.testing.assert_allclose(table.error, table.estimate - table.exact)
    np.testing.assert_allclose(table.tolerance, tolerance(table.exact))
    assert table.passed.all() and np.all(np.abs(table.error) < 4 * table.stderr + 2e-3)
    # the exact values were cached: one file per time, read back identically
    cells = list((tmp_path / "cache").glob("*/cells/*.json"))
    assert len(cells) == 2
    again = exact_table(case, [0.3, 0.6], [1, 2], cache_dir=tmp_path / "cache")
    np.testing.assert_allclose(again.exact, want.exact)

    text = format_table(table)
    assert "passed 4/4 cells" in text and text.count("\n") == len(table) + 3
    assert summary(table).passed.tolist() == [4]
    paths = write_calibration(table, tmp_path / "out", {"cmi": "gaussian"})
    assert pd.read_csv(paths["csv"]).shape == table.shape
    assert Path(paths["png"]).stat().st_size > 1000
    assert json.loads(Path(paths["json"]).read_text())["passed"] == 4


def test_run_calibration_input_errors():
    with pytest.raises(ValueError, match="n_samples=5 must be an integer >= 20"):
        run_calibration("gaussian", cases="gaussian-field", n_samples=5)
    with pytest.raises(ValueError, match="unknown"):
        run_calibration("no-such-estimator", cases="gaussian-field")


def test_path_cmi_uses_the_same_rows_at_every_time():
    model = random_mixture("diag", K=2, D=5, seed=6)
    reg = [Regions(np.array([2]), np.array([1, 3]), np.array([0, 4]))]
    out = mixture_cmi_path(model, LinearPath(), [0.2, 0.2, 0.5], reg, n_mc=500, random_state=0)
    assert set(out) == {0.2, 0.5}
    rng = np.random.RandomState(0)
    X0 = model.sample(500, rng)
    Xt = 0.5 * X0 + 0.5 * rng.standard_normal(X0.shape)
    want = mixture_cmi(model.noised("linear", 0.5), reg, X=Xt)[0]
    assert out[0.5][0].value == pytest.approx(want.value)


# --------------------------------------------------------------------------- command line
@pytest.mark.usefixtures("fresh_registry")
def test_calibrate_command_prints_and_writes(tmp_path, monkeypatch):
    import sys

    from click.testing import CliRunner

    from markovphase.cli import get_cli

    out = tmp_path / "cal"
    args = ["calibrate", "--cmi", "gaussian", "--case", "gaussian-field:side=9",
            "--case-param", "scale=1.0", "--times", "0.3,0.6", "--radii", "1,2",
            "--n-samples", "3000", "--seed", "2", "--out", str(out), "-q"]
    # the command is read from sys.argv (pytest's own under CliRunner): make it this one
    monkeypatch.setattr(sys, "argv", ["markovphase", *args])
    res = CliRunner().invoke(get_cli(), args, prog_name="markovphase")
    assert res.exit_code == 0, (res.output, res.exception)
    assert "passed 4/4 cells" in res.output and "gaussian-field" in res.output
    table = pd.read_csv(out / "calibration.csv")
    assert len(table) == 4 and set(table.r) == {1, 2} and table.passed.all()
    meta = json.loads((out / "calibration.json").read_text())
    assert meta["cmi"] == "gaussian" and meta["command"].startswith("markovphase ")
    assert (out / "calibration.png").exists() and list((out / "cache").glob("*/cells/*.json"))


@pytest.mark.usefixtures("fresh_registry")
@pytest.mark.parametrize("args, needle", [
    (["--cmi", "nope"], "nope"),
    (["--cmi", "gaussian", "--case", "class-templates", "--case-param", "tau=-1"],
     "tau=-1 must lie in"),
    (["--cmi", "gaussian", "--case", "bogus"], "case='bogus' is unknown"),
    (["--cmi", "gaussian", "--cmi-param", "ridge"], "expected KEY=VALUE"),
    (["--cmi", "gaussian", "--case", "ising-chain", "--radii", "1,400"], "radii=[1, 400]"),
])
def test_calibrate_command_bad_input_is_one_line(args, needle):
    from click.testing import CliRunner

    from markovphase.cli import get_cli

    res = CliRunner().invoke(get_cli(), ["calibrate", *args, "--no-cache", "-q"],
                             prog_name="markovphase")
    errors = [ln for ln in res.output.splitlines() if ln.startswith("Error:")]
    assert res.exit_code != 0 and len(errors) == 1 and needle in errors[0], res.output
    assert "Traceback" not in res.output


@pytest.mark.slow
def test_mixture_calibrates_on_an_unseen_template_mixture():
    """Acceptance-style run at full scale: 729 dims, 10,000 samples, t = 0.1..0.7, r = 1..6."""
    case = get_case("class-templates", tau=0.25, random_state=9)
    table = run_calibration("mixture", cases=[case], n_samples=10_000, n_mc=20_000,
                            random_state=3)
    assert len(table) == 24 and table.exact.max() > 0.03
    assert table.passed.sum() >= 22, format_table(table)
    assert np.sqrt(np.mean(table.error**2)) < 0.008, format_table(table)
