"""MixtureCMI ("mixture"): a Gaussian mixture fitted once, CMI from its exact densities."""

from __future__ import annotations

import numpy as np
import pytest
from exact_gaussian import exact_cmi
from sklearn.base import clone

import markovphase as mp
from markovphase import plugins
from markovphase.calibration import GaussianMixtureModel, MacrostateMixture, mixture_cmi_path
from markovphase.cmi.mixture import MixtureCMI
from markovphase.lattice import Lattice, Regions


def chain_cov(n, rho=0.6):
    idx = np.arange(n)
    return rho ** np.abs(idx[:, None] - idx[None, :])


def macro(n_sites=11, scale=0.8):
    """Two well separated Gaussians +-scale * 1 with an AR(1) covariance (exact CMI known)."""
    return MacrostateMixture(0.3 * chain_cov(n_sites), scale * np.ones(n_sites))


def test_registered_and_sklearn_params():
    assert plugins.get("cmi", "mixture") is MixtureCMI is mp.MixtureCMI
    est = MixtureCMI(n_components=3, covariance_type="lowrank", n_factors=2)
    twin = clone(est)
    assert twin.get_params() == est.get_params() and twin is not est


@pytest.mark.parametrize("bad, match", [
    (dict(n_components=0), "n_components=0 must be a positive integer"),
    (dict(covariance_type="tied"), "covariance_type='tied'"),
    (dict(shrinkage=2.0), "shrinkage=2.0"),
    (dict(reg=-1.0), "reg=-1.0 must be a number >= 0"),
    (dict(mode="both"), "mode='both'"),
    (dict(n_mc=1), "n_mc=1 must be >= 2"),
    (dict(test_fraction=1.5), r"test_fraction=1.5 must be a number in \(0, 1\)"),
    (dict(n_components=(1, 0)), r"n_components=\(1, 0\) must be a positive integer"),
    (dict(n_components=()), r"n_components=\(\) must be a positive integer"),
    (dict(covariance_type=("full", "tied")), r"covariance_type=\('full', 'tied'\)"),
    (dict(n_components=(1, 2), validation_fraction=1.0),
     r"validation_fraction=1.0 must be a number in \(0, 1\)"),
])
def test_parameter_errors_name_the_parameter(bad, match):
    X = np.random.default_rng(0).normal(size=(50, 3))
    with pytest.raises(ValueError, match=match):
        MixtureCMI(**bad).estimate(X[:, :1], X[:, 2:], X[:, 1:2])


def test_one_component_is_the_gaussian_cmi_of_the_fitted_covariance():
    rng = np.random.default_rng(1)
    cov = chain_cov(6)
    X = rng.multivariate_normal(np.zeros(6), cov, size=4000)
    est = MixtureCMI(n_components=1, covariance_type="full", shrinkage=None, reg=0.0,
                     random_state=0)
    res = est.evaluate(X[:, [0]], X[:, 3:], X[:, 1:3])
    fitted = est.model_.covariances[0]
    assert res.stderr == 0.0
    assert res.value == pytest.approx(exact_cmi(fitted, [0], [3, 4, 5], [1, 2]), abs=1e-10)
    np.testing.assert_allclose(fitted, np.cov(X, rowvar=False), atol=1e-12)
    # an AR(1) chain is Markov: I(A;C|B) = 0 within the sampling error of the fit
    assert abs(res.value) < 0.005


def test_model_cmi_of_a_two_component_mixture_is_close_to_exact():
    mix = macro()
    X0 = mix.sample(6000, 2)
    lat = Lattice((11,))
    regions = [lat.regions((5,), r) for r in (1, 2, 3)]
    est = MixtureCMI(n_components=2, random_state=0)
    got = est.evaluate_path(X0, None, "linear", [0.3, 0.6], regions, lat)
    exact = mixture_cmi_path(mix.model, "linear", [0.3, 0.6], regions, n_mc=40_000,
                             random_state=5)
    for t in (0.3, 0.6):
        for g, e in zip(got[t], exact[t], strict=True):
            assert abs(g.value - e.value) < 0.01 + 4 * (g.stderr + e.stderr), (t, g, e)
    assert est.model_.n_components == 2 and est.features_.tolist() == list(range(11))
    assert max(r.value for r in exact[0.6]) > 0.04  # the case is not trivially 0


def test_plugin_estimate_averages_held_out_noised_rows():
    mix = macro()
    X0 = mix.sample(3000, 3)
    noise = np.random.default_rng(4).normal(size=X0.shape)
    lat = Lattice((11,))
    regions = [lat.regions((5,), 1)]
    est = MixtureCMI(n_components=2, mode="plugin", test_fraction=0.25, random_state=0)
    res = est.evaluate_path(X0, noise, "linear", [0.5], regions, lat)[0.5][0]
    assert res.n_samples == 750 and est.n_samples_fit_ == 2250
    exact = mix.cmi("linear", 0.5, regions[0].A, regions[0].C, regions[0].B, n_mc=40_000)[0]
    assert abs(res.value - exact) < 0.01 + 4 * res.stderr, (res, exact)
    with pytest.raises(ValueError, match="noise must be"):
        est.evaluate_path(X0, None, "linear", [0.5], regions, lat)


def test_through_the_probe_and_the_scan():
    mix = macro()
    X0 = mix.sample(3000, 5)
    probe = mp.MarkovProbe(lattice_shape=(11,), radii=[1, 2], t=0.4,
                           cmi=MixtureCMI(n_components=2, n_mc=4000), random_state=0)
    assert probe.supports_path()
    cells = probe.fit_path(X0, [0.4, 0.7])
    assert set(cells) == {0.4, 0.7} and len(cells[0.4]["rows"]) == 2
    scan = mp.PhaseScan(lattice_shape=(11,), times=[0.4, 0.7], radii=[1, 2],
                        cmi="mixture", random_state=0).fit(X0)
    assert scan.results_.shape[0] == 4 and np.isfinite(scan.results_.value).all()
    # the per-time route (evaluate_regions on the noised data) agrees with the path route
    probe.fit(X0)
    want = mixture_cmi_path(mix.model, "linear", [0.4], probe.regions([1, 2])[0][1][:2],
                            n_mc=20_000, random_state=1)[0.4]
    for got, exact in zip(probe.cmi_, want, strict=True):
        assert abs(got - exact.value) < 0.015, (probe.cmi_, want)


def test_fit_uses_only_the_columns_of_the_regions():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(500, 5))
    X[:, 4] = 1.0  # a constant column outside every region
    est = MixtureCMI(n_components=1, random_state=0)
    res = est.evaluate_regions(X, [Regions(np.array([0]), np.array([1]), np.array([2, 3]))])
    assert est.features_.tolist() == [0, 1, 2, 3] and np.isfinite(res[0].value)
    assert isinstance(est.model_, GaussianMixtureModel)


def test_pure_noise_is_exactly_zero_not_rounding():
    """At t = 1 (alpha = 0) every component is N(0, I): the CMI is 0 exactly, not the
    -3e-14 of rounding with a 1e-15 stderr (which read as 'below -2 stderr')."""
    from markovphase import MixtureCMI
    from markovphase.lattice import Lattice

    rng = np.random.default_rng(0)
    X0 = np.concatenate([rng.normal(-1, 0.3, (300, 16)), rng.normal(1, 0.3, (300, 16))])
    lat = Lattice((4, 4), 1, periodic=True)
    regions = [lat.regions((1, 1), r) for r in (1,)]
    res = dict(MixtureCMI(n_components=2, random_state=0).iter_path(
        X0, rng.standard_normal(X0.shape), "linear", [0.5, 1.0], regions, lattice=lat))
    assert res[1.0][0].value == 0.0 and res[1.0][0].stderr == 0.0
    assert res[0.5][0].value > 0.0


def test_candidates_are_selected_by_held_out_likelihood():
    """Several (n_components, covariance_type) pairs: the one with the best held-out
    log-likelihood is refitted on every row; one Gaussian for Gaussian data, two
    components for two well separated Gaussians."""
    rng = np.random.default_rng(3)
    gauss = rng.multivariate_normal(np.zeros(8), chain_cov(8), size=3000)
    est = MixtureCMI(n_components=(1, 4), covariance_type=("full", "spherical"),
                     random_state=0)
    res = est.evaluate(gauss[:, [0]], gauss[:, 4:], gauss[:, 1:4])
    table = {(r["n_components"], r["covariance_type"]): r for r in est.selection_}
    assert sorted(table) == [(1, "full"), (1, "spherical"), (4, "full"), (4, "spherical")]
    best = max(table.values(), key=lambda r: r["heldout_loglik"])
    assert best["selected"] and sum(r["selected"] for r in table.values()) == 1
    assert (est.n_components_, est.covariance_type_) == (1, "full") == (
        best["n_components"], best["covariance_type"])
    # refitted on all rows: the one-component model is the exact Gaussian CMI of them
    assert est.model_.n_components == 1 and res.stderr == 0.0
    assert res.value == pytest.approx(exact_cmi(est.model_.covariances[0], [0],
                                                [4, 5, 6, 7], [1, 2, 3]), abs=1e-10)
    # the held-out log-likelihood of the Gaussian fit is the Gaussian entropy, nearly
    h = 0.5 * (8 * np.log(2 * np.pi * np.e) + np.linalg.slogdet(chain_cov(8))[1])
    assert table[1, "full"]["heldout_loglik"] == pytest.approx(-h, abs=0.05)

    X = macro(n_sites=8, scale=1.5).sample(3000, 4)
    two = MixtureCMI(n_components=(1, 2), covariance_type="full", random_state=0)
    two.evaluate(X[:, [0]], X[:, 4:], X[:, 1:4])
    assert two.n_components_ == 2 and two.model_.n_components == 2
    assert [r["selected"] for r in two.selection_] == [False, True]


def test_one_candidate_fits_as_before():
    X = macro().sample(1000, 5)
    one = MixtureCMI(n_components=2, random_state=0)
    res = one.evaluate(X[:, [0]], X[:, 3:], X[:, 1:3])
    listed = MixtureCMI(n_components=[2], covariance_type=["lowrank"], random_state=0)
    assert listed.evaluate(X[:, [0]], X[:, 3:], X[:, 1:3]).value == res.value
    assert one.selection_ is None and (one.n_components_, one.covariance_type_) == (2, "lowrank")


def test_compare_gaussian_takes_one_gaussian_for_a_free_field():
    """A free field is one Gaussian: a mixture's components could only act as a
    spurious global latent. The held-out conditional cross-entropy says so, and every
    estimate is then the bias-corrected Gaussian log-det estimate of the noised rows,
    within its stderr of the exact CMI of the noised field."""
    from markovphase import GaussianCMI
    from markovphase.calibration.gaussian import gff_covariance
    from markovphase.diffusion import get_path

    cov0 = gff_covariance((12, 12), 0.2)
    cov0 *= 0.25 / cov0[0, 0]
    rng = np.random.default_rng(7)
    X0 = rng.multivariate_normal(np.zeros(len(cov0)), cov0, size=3000)
    noise = rng.standard_normal(X0.shape)
    lat = Lattice((12, 12), periodic=True)
    regions = [lat.regions((4, 4), r) for r in (1, 2)]
    est = MixtureCMI(n_components=4, random_state=0)
    got = est.evaluate_path(X0, noise, "linear", [0.2, 0.5], regions, lat)
    fam = est.families_
    assert fam["family"] == "gaussian" and fam["gain"] < 0
    assert fam["times"] == mp.cmi.mixture.COMPARE_TIMES
    p = get_path("linear")
    for t in (0.2, 0.5):
        want = GaussianCMI(drop_constant=True).evaluate_regions(p.noise(X0, t, noise), regions)
        cov_t = p.covariance(cov0, t)
        for g, w, reg in zip(got[t], want, regions, strict=True):
            assert g.value == w.value and g.stderr == w.stderr
            exact = exact_cmi(cov_t, reg.A, reg.C, reg.B)
            assert abs(g.value - exact) < 4 * g.stderr + 1e-3, (t, g, exact)
    # the time-free route compares the rows as given and agrees with GaussianCMI too
    X = p.noise(X0, 0.1, noise)
    res = est.evaluate_regions(X, regions)
    assert est.families_["family"] == "gaussian" and est.families_["times"] is None
    assert [r.value for r in res] == [
        r.value for r in GaussianCMI(drop_constant=True).evaluate_regions(X, regions)]


def test_compare_gaussian_keeps_the_mixture_for_separated_clusters(capsys):
    """Two well separated Gaussians: the mixture predicts A better from every context,
    and its estimates are exactly those of compare_gaussian=False (same random stream)."""
    X0 = macro().sample(3000, 2)
    lat = Lattice((11,))
    regions = [lat.regions((5,), r) for r in (1, 2)]
    on = MixtureCMI(n_components=2, n_mc=3000, random_state=0, verbose=1)
    off = MixtureCMI(n_components=2, n_mc=3000, random_state=0, compare_gaussian=False)
    a = on.evaluate_path(X0, None, "linear", [0.3, 0.6], regions, lat)
    b = off.evaluate_path(X0, None, "linear", [0.3, 0.6], regions, lat)
    assert on.families_["family"] == "mixture"
    assert on.families_["gain"] > 0 and off.families_ is None
    assert f"mixture CMI: mixture (held-out gain of the mixture over one Gaussian " \
           f"{on.families_['gain']:+.3f}" in capsys.readouterr().out
    for t in (0.3, 0.6):
        assert [r.value for r in a[t]] == [r.value for r in b[t]]


def test_compare_gaussian_does_not_apply_to_one_component_or_too_few_rows():
    X = macro(n_sites=12).sample(200, 3)
    regions = [Regions(np.array([0]), np.array([1]), np.arange(2, 12))]
    one = MixtureCMI(n_components=1, random_state=0)
    one.evaluate_regions(X, regions)
    assert one.families_ is None
    few = MixtureCMI(n_components=2, random_state=0)
    few.evaluate_regions(X[:12], regions)  # 12 rows, 12 columns: no bias-corrected Gaussian
    assert few.families_ is None and few.model_.n_components == 2
    with pytest.raises(ValueError, match="compare_gaussian='yes' must be True or False"):
        MixtureCMI(compare_gaussian="yes").evaluate_regions(X, regions)
