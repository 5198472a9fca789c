r"""Model-based CMI: fit a Gaussian mixture once, read I(A;C|B) off its exact densities.

The clean samples are fitted ONCE by a mixture ``q_0 = sum_k w_k N(mu_k, S_k)``
(k-means clusters, each with its own covariance: see
:func:`markovphase.calibration.fit.fit_cluster_mixture`). Along
``x_t = alpha x_0 + sigma z`` the model moves analytically
(``q_t = sum_k w_k N(alpha mu_k, alpha^2 S_k + sigma^2 I)``) and every subset
density of ``q_t`` is exact, so for every (t, r)

* ``mode="model"``: ``I_q = E_{x ~ q_t}[log q(abc) + log q(b) - log q(ab) - log q(bc)]``,
  the model's own CMI by Monte Carlo over ``n_mc`` rows drawn from the model;
* ``mode="plugin"``: the same terms averaged over real noised rows
  (a held-out ``test_fraction`` of the data, so the fit has not seen them):
  ``E_p[log q(a|bc) - log q(a|b)]``.

Standard errors are ``std(d_i) / sqrt(n)`` of the per-row terms; they do not
include the fit's variance or its misfit (bias), which is largest where the
clean law matters most (small t).

One fit serves the whole (t, r) map (:meth:`MixtureCMI.evaluate_path`); all
radii of one t share one whitening per component: the 27x27 MNIST map (11
times x 12 radii, 10,000 images) took 23 s wall and 0.85 GiB peak on one thread.

One Gaussian or a mixture (``compare_gaussian``, default on): before the map,
one full Gaussian and the mixture are compared on held-out clean rows noised
to t = 0.1..0.5, by the conditional cross-entropy of A given each context of
the CMI. Where one Gaussian predicts A better (free field, Ising chain: the
mixture's components would act as a spurious global latent variable, +0.05
nats at t = 0.1 that hardly decay with r), every estimate is the
bias-corrected Gaussian log-det estimate of the noised rows instead.

Calibration (``benchmarks/calibration_suite.py``, 10,000 samples, t in
{0.1, 0.3, 0.5, 0.7}, r = 1..6; a cell passes when
``|error| <= max(0.01, 20 %)``), ``benchmarks/results/calibration_mixture*.txt``:

* the ten default configurations, not used for tuning: 234/240 (free field
  48/48, Ising chain 48/48, MNIST class templates 48/48, class Gaussians
  45/48, k-means clusters 45/48), against 196/240 with
  ``compare_gaussian=False``;
* ten further configurations (other seeds and parameters, drawn after the
  decision rule was fixed): 220/240 against 185/240. The misses: a strongly
  coupled Ising chain (coupling 2, 18/24: neither family fits it, the
  Gaussian over-estimates by up to 0.04 nats at t = 0.1) and the mixtures'
  own misfit (up to +0.035 nats on 5 full-covariance k-means clusters).

Defaults were chosen on other seeds: factor-analyser components
(``lowrank``, 10 factors) passed 94/120 tuning cells against 84 for full
covariances with Ledoit-Wolf shrinkage and 82 for one Gaussian's model CMI.
``mode="plugin"`` (165/240 on the default configurations) over-fits the
held-out large-context density (negative CMI at t = 0.1). Choosing the
structure by clean-row log-likelihood (``n_components=(1, 10),
covariance_type=("full", "lowrank")``) prefers full covariances, whose CMI
is further from the exact one (class Gaussians 16/24 against 23/24), so it
is an option, not the default.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Sequence

import numpy as np
from sklearn.utils import check_random_state

from ..lattice import Lattice, Regions
from ..params import store_params
from .base import CMIEstimator, CMIResult, as_2d

__all__ = ["MixtureCMI", "COMPARE_TIMES"]

#: times at which ``compare_gaussian`` weighs one Gaussian against the mixture
COMPARE_TIMES = (0.1, 0.2, 0.3, 0.4, 0.5)


def _as_tuple(value) -> tuple:
    """``value`` as a tuple of candidates (a str or a number is one candidate)."""
    if isinstance(value, (str, bytes, numbers.Number)) or not np.iterable(value):
        return (value,)
    return tuple(value)


class MixtureCMI(CMIEstimator):
    """I(A;C|B) of a Gaussian mixture fitted to the data (nats), exact along the path.

    Parameters
    ----------
    n_components : int or sequence of int, default=10
        Mixture components (k-means clusters). A sequence is a set of
        candidates: see ``covariance_type``.
    covariance_type : {"lowrank", "full", "diag", "spherical"} or sequence, default="lowrank"
        Covariance of each component; ``"lowrank"`` is a factor analyser with
        ``n_factors`` principal directions plus an isotropic rest (fewer
        parameters than ``"full"``: less over-fitting at 729 dimensions).
        When ``n_components`` or ``covariance_type`` is a sequence, every pair
        of the two is fitted on ``1 - validation_fraction`` of the clean rows
        and the pair with the largest mean held-out log-likelihood
        ``mean_i log q(x_i)`` (nats per row) is refitted on all of them
        (``selection_`` lists the candidates). The CMI is then that of the
        model the data support best, e.g. one full Gaussian for a Gaussian
        field, where a mixture's components would act as a spurious global
        latent variable.
    n_factors : int, default=10
        Factors per component for ``"lowrank"``.
    shrinkage : float in [0, 1], "auto" or None, default="auto"
        Shrinkage of full covariances toward ``tr/D I`` (``"auto"`` = Ledoit-Wolf).
    reg : float, default=1e-3
        Ridge added to every covariance (keeps constant clean pixels finite).
    mode : {"model", "plugin"}, default="model"
        The model's own CMI (Monte Carlo from the model) or its terms averaged
        over held-out real rows.
    n_mc : int, default=10000
        Monte Carlo rows per time for ``mode="model"``.
    test_fraction : float, default=0.3
        Held-out rows for ``mode="plugin"``.
    validation_fraction : float, default=0.2
        Held-out share of the fit rows on which candidate models are compared
        (only when there are several).
    n_init : int, default=1
        k-means restarts.
    random_state : int, RandomState or None, default=None
        Seeds k-means, the split and the Monte Carlo rows.
    compare_gaussian : bool, default=True
        First ask whether the data need a mixture at all. One full-covariance
        Gaussian and a mixture of ``n_components_`` components (full
        covariances, and ``covariance_type_`` on the same clusters; Ledoit-Wolf
        shrunk) are fitted on ``1 - validation_fraction`` of the clean rows.
        The held-out rows, noised to each t of ``COMPARE_TIMES`` (0.1..0.5)
        with one noise draw, give the mixture's per-row gain
        ``g_i = sum_t sum_P [log q_mix(a_i | x_P) - log q_gauss(a_i | x_P)]``
        over every context ``P`` of the CMI (each ring ``B(r)`` and
        ``B u C``; nats), for the better of the two mixtures. If ``mean(g) <= 0``
        the data are taken as one Gaussian and every estimate is the
        bias-corrected Gaussian log-det estimate of the noised rows
        (:class:`~markovphase.GaussianCMI`, unbiased for Gaussian data);
        otherwise the mixture's. On a Markov field (free field, Ising chain) a
        mixture's components act as a spurious global latent variable (up to
        +0.05 nats at t = 0.1 that hardly decay with r), and the conditional
        cross-entropy of held-out rows exposes them; the clean rows'
        log-likelihood does not (it prefers one Gaussian on MNIST class
        mixtures too). One decision per fit, so every t of a map uses the same
        family and a resumed scan gives the same numbers. ``families_``
        records it and ``verbose=1`` prints it. Skipped (the mixture is
        used) for one component, or with too few rows for the Gaussian
        estimate (``n <= D + 1``).

    Attributes
    ----------
    model_ : GaussianMixtureModel
        The last fitted clean mixture.
    n_components_, covariance_type_ : int, str
        Its structure (the selected candidate when there were several).
    selection_ : list of dict or None
        Per candidate: ``n_components``, ``covariance_type``,
        ``heldout_loglik`` (nats per row) and ``selected``; None for one candidate.
    families_ : dict or None
        The ``compare_gaussian`` decision: ``family`` (``"gaussian"`` or
        ``"mixture"``), ``gain`` (mean of ``g_i``, nats per row),
        ``gain_stderr`` and ``times`` (None when the rows were compared as
        given, in :meth:`evaluate_regions`); None when it did not apply.
    features_ : ndarray of int
        The columns it was fitted on.
    n_samples_fit_ : int
    """

    has_pointwise = True
    min_samples = 10

    def __init__(self, n_components=10, covariance_type="lowrank", n_factors=10, shrinkage="auto",
                 reg=1e-3, mode="model", n_mc=10_000, test_fraction=0.3,
                 validation_fraction=0.2, n_init=1, random_state=None, verbose=0,
                 compare_gaussian=True):
        store_params(self, locals())

    # -- parameters -----------------------------------------------------------
    def _check_params(self):
        from ..calibration.fit import FIT_COVARIANCE_TYPES

        def positive_int(v):
            return not isinstance(v, bool) and isinstance(v, numbers.Integral) and v >= 1

        for name in ("n_factors", "n_mc", "n_init"):
            if not positive_int(getattr(self, name)):
                raise ValueError(f"{name}={getattr(self, name)!r} must be a positive integer")
        if self.n_mc < 2:
            raise ValueError(f"n_mc={self.n_mc!r} must be >= 2")
        ks, covs = _as_tuple(self.n_components), _as_tuple(self.covariance_type)
        if not ks or not all(positive_int(k) for k in ks):
            raise ValueError(f"n_components={self.n_components!r} must be a positive integer "
                             "or a non-empty sequence of them")
        if not covs or not all(c in FIT_COVARIANCE_TYPES for c in covs):
            raise ValueError(f"covariance_type={self.covariance_type!r}; expected one of "
                             f"{FIT_COVARIANCE_TYPES} or a non-empty sequence of them")
        vf = self.validation_fraction
        if isinstance(vf, bool) or not isinstance(vf, numbers.Real) or not 0 < vf < 1:
            raise ValueError(f"validation_fraction={vf!r} must be a number in (0, 1)")
        s = self.shrinkage
        if not (s is None or s == "auto" or (isinstance(s, numbers.Real) and 0 <= s <= 1)):
            raise ValueError(f"shrinkage={s!r}; expected None, 'auto' or a number in [0, 1]")
        if not isinstance(self.reg, numbers.Real) or not self.reg >= 0:
            raise ValueError(f"reg={self.reg!r} must be a number >= 0")
        if not isinstance(self.compare_gaussian, bool | np.bool_):
            raise ValueError(f"compare_gaussian={self.compare_gaussian!r} must be True or False")
        if self.mode not in ("model", "plugin"):
            raise ValueError(f"mode={self.mode!r}; expected 'model' or 'plugin'")
        tf = self.test_fraction
        if not isinstance(tf, numbers.Real) or not 0 < tf < 1:
            raise ValueError(f"test_fraction={tf!r} must be a number in (0, 1)")

    # -- the fit --------------------------------------------------------------
    def _fit(self, X: np.ndarray, features: np.ndarray, rng):
        from ..calibration.fit import fit_cluster_mixture

        n = len(X)
        X = X[:, features]
        candidates = [(int(k), c) for k in _as_tuple(self.n_components)
                      for c in _as_tuple(self.covariance_type)]
        self.selection_ = None
        if len(candidates) > 1:
            val, tr = self._validation_split(X, rng)
            seed = rng.randint(np.iinfo(np.int32).max)
            self.selection_ = [
                {"n_components": k, "covariance_type": c,
                 "heldout_loglik": float(np.mean(fit_cluster_mixture(
                     tr, min(k, len(tr)), c, float(self.reg), int(self.n_factors),
                     self.shrinkage, int(self.n_init), seed)[0].logpdf(val)))}
                for k, c in candidates]
            best = int(np.nanargmax([row["heldout_loglik"] for row in self.selection_]))
            for i, row in enumerate(self.selection_):
                row["selected"] = i == best
            candidates = [candidates[best]]
        (k, cov), = candidates
        self.n_components_, self.covariance_type_ = min(k, n), cov
        self.model_, _ = fit_cluster_mixture(
            X, self.n_components_, cov, float(self.reg), int(self.n_factors),
            self.shrinkage, int(self.n_init), rng.randint(np.iinfo(np.int32).max))
        self.features_ = features
        self.n_samples_fit_ = n
        return self.model_

    def _validation_split(self, X: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
        """``(validation, training)`` rows of ``X``: a random ``validation_fraction``
        (at least 2 rows, leaving at least 2) and the rest."""
        n = len(X)
        perm = rng.permutation(n)
        n_val = min(max(2, int(round(self.validation_fraction * n))), n - 2)
        return X[perm[:n_val]], X[perm[n_val:]]

    def _choose_family(self, Xf: np.ndarray, n_rows: int, local, seed: int, path=None) -> str:
        """``"gaussian"`` or ``"mixture"`` for the data (see ``compare_gaussian``).

        ``Xf`` are the clean fit rows (fitted columns), ``n_rows`` the rows the
        Gaussian estimate would average over, ``local`` the regions in fitted
        columns. With a ``path`` the held-out rows are noised to every time of
        ``COMPARE_TIMES`` (the same noise at each) and the gains are summed
        over them; without one they are compared as given. ``seed`` seeds the
        split, the k-means and the noise. Sets ``families_``.
        """
        self.families_ = None
        if not self.compare_gaussian or self.n_components_ < 2 \
                or n_rows - 1 <= Xf.shape[1]:
            return "mixture"
        from ..calibration.exact_cmi import nested_chains
        from ..calibration.fit import cluster_covariances, fit_cluster_mixture
        from ..calibration.mixture import GaussianMixtureModel

        rng = check_random_state(seed)
        val, tr = self._validation_split(Xf, rng)
        seed = rng.randint(np.iinfo(np.int32).max)
        gauss, _ = fit_cluster_mixture(tr, 1, "full", float(self.reg), 1, "auto", 1, seed)
        full, labels = fit_cluster_mixture(tr, min(self.n_components_, len(tr)), "full",
                                           float(self.reg), 1, "auto", int(self.n_init), seed)
        mixes = [full]
        if self.covariance_type_ != "full":  # the structure in use, on the same clusters
            covs, F = cluster_covariances(tr, labels, self.covariance_type_, float(self.reg),
                                          int(self.n_factors), self.shrinkage)
            mixes.append(GaussianMixtureModel(full.weights, full.means, covs,
                                              self.covariance_type_, F))
        chains = nested_chains(local)

        def log_conditionals(model, V):  # per row: sum over contexts P of log q(a | x_P)
            return sum((lp_a - lp)[:, 1:].sum(axis=1) for lp, lp_a in
                       (model.prefix_logpdfs(V, ch.A, ch.blocks) for ch in chains))

        if path is None:  # the rows as given, the models as fitted
            steps = [(val, gauss, mixes)]
        else:
            Z = rng.standard_normal(val.shape)
            steps = ((path.noise(val, t, Z), gauss.noised(path, t),  # one t at a time
                      [m.noised(path, t) for m in mixes]) for t in COMPARE_TIMES)
        gains = np.zeros((len(mixes), len(val)))
        for V, g, ms in steps:
            base = log_conditionals(g, V)
            gains += [log_conditionals(m, V) - base for m in ms]
        gain = gains[int(np.argmax(gains.mean(axis=1)))]
        mean, se = float(gain.mean()), float(gain.std(ddof=1) / np.sqrt(len(gain)))
        family = "mixture" if mean > 0 else "gaussian"
        self.families_ = {"family": family, "gain": mean, "gain_stderr": se,
                          "times": None if path is None else COMPARE_TIMES}
        if self.verbose:
            from tqdm.auto import tqdm

            tqdm.write(f"mixture CMI: {family} (held-out gain of the mixture over one "
                       f"Gaussian {mean:+.3f} +- {se:.3f} nats per row)")
        return family

    @staticmethod
    def _gaussian_cmi(X: np.ndarray, local) -> list[CMIResult]:
        from .gaussian import GaussianCMI

        return GaussianCMI(drop_constant=True).evaluate_regions(X, local)

    def _split(self, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
        """Rows to fit on and rows to average over (all rows for ``mode="model"``)."""
        if self.mode == "model":
            rows = np.arange(n)
            return rows, rows
        perm = rng.permutation(n)
        n_test = max(2, int(round(self.test_fraction * n)))
        if n - n_test < 2:
            raise ValueError(f"{n} samples leave too few to fit with test_fraction="
                             f"{self.test_fraction}")
        return np.sort(perm[n_test:]), np.sort(perm[:n_test])

    @staticmethod
    def _local(regions, features):
        """Regions re-indexed into the fitted columns ``features``."""
        pos = np.full(int(features.max()) + 1, -1, dtype=np.intp)
        pos[features] = np.arange(len(features))
        return [Regions(pos[r.A], pos[r.B], pos[r.C]) for r in regions]

    def _prepare(self, X, regions):
        X = as_2d(X, "X")
        if len(X) < self.min_samples:
            raise ValueError(f"got {len(X)} samples; MixtureCMI needs at least "
                             f"{self.min_samples}")
        regions = [r if isinstance(r, Regions) else Regions(*r) for r in regions]
        for i, r in enumerate(regions):
            if np.asarray(r.A).size == 0 or np.asarray(r.C).size == 0:
                raise ValueError(f"regions[{i}] has an empty A or C; I(A;C|B) needs both")
        features = np.unique(np.concatenate(
            [np.concatenate([r.A, r.B, r.C]).astype(np.intp) for r in regions]))
        if features.min() < 0 or features.max() >= X.shape[1]:
            raise ValueError(f"regions index features outside X's {X.shape[1]} columns")
        return X, regions, features

    def _cmi(self, model, regions, X) -> list[CMIResult]:
        """The terms averaged over rows ``X``; a one-component model is exact in model mode."""
        from ..calibration.exact_cmi import mixture_cmi

        exact = self.mode == "model" and model.n_components == 1
        return mixture_cmi(model, regions, X=None if exact else X, exact_single=exact)

    # -- public API -----------------------------------------------------------
    def _evaluate(self, A, C, B):
        X = np.hstack([A, B, C])
        dA, dB = A.shape[1], B.shape[1]
        reg = Regions(np.arange(dA), np.arange(dA, dA + dB), np.arange(dA + dB, X.shape[1]))
        return self.evaluate_regions(X, [reg])[0]

    def evaluate_regions(self, X: np.ndarray, regions: Sequence[Regions],
                         lattice: Lattice | None = None) -> list[CMIResult]:
        """I(A;C|B) for many triples of the same samples ``X`` from one fit of their columns."""
        self._check_params()
        X, regions, features = self._prepare(X, regions)
        rng = check_random_state(self.random_state)
        fit_rows, eval_rows = self._split(len(X), rng)
        model = self._fit(X[fit_rows], features, rng)
        local = self._local(regions, features)
        rows = (model.sample(int(self.n_mc), rng) if self.mode == "model"
                else X[eval_rows][:, features])
        if self._choose_family(X[fit_rows][:, features], len(eval_rows), local,
                               rng.randint(np.iinfo(np.int32).max)) == "gaussian":
            return self._gaussian_cmi(X[eval_rows][:, features], local)
        return self._cmi(model, local, rows)

    def evaluate_path(self, X0, noise, path, times, regions: Sequence[Regions],
                      lattice: Lattice | None = None) -> dict[float, list[CMIResult]]:
        """I(A;C|B) at every ``t`` of ``times`` for ``x_t = path.noise(X0, t, noise)``.

        The mixture is fitted ONCE on the clean ``X0`` (the training rows) and
        moved analytically to each ``t``. ``mode="model"`` draws ``n_mc``
        clean rows from it once and noises them along the path (the same rows
        at every t); ``"plugin"`` averages over the held-out rows of
        ``path.noise(X0, t, noise)``. Returns ``{t: [CMIResult per region]}``,
        the items of :meth:`iter_path`.
        """
        return dict(self.iter_path(X0, noise, path, times, regions, lattice))

    def iter_path(self, X0, noise, path, times, regions: Sequence[Regions],
                  lattice: Lattice | None = None) -> Iterator[tuple[float, list[CMIResult]]]:
        """Yield ``(t, [CMIResult per region])`` for each ``t`` of ``times`` as it is done.

        One fit, then one time after the other (see :meth:`evaluate_path`).
        The value at ``t`` depends only on the fit, the Monte Carlo (or
        held-out) rows and ``t``, not on the other times asked for, so a scan
        resumed with only its missing times gives the same numbers.
        """
        from tqdm.auto import tqdm

        from ..diffusion import check_time, get_path

        self._check_params()
        p = get_path(path)
        times = [float(check_time(t, "times")) for t in np.atleast_1d(times)]
        if not times:
            raise ValueError("times is empty; expected at least one diffusion time")
        X0, regions, features = self._prepare(X0, regions)
        rng = check_random_state(self.random_state)
        fit_rows, eval_rows = self._split(len(X0), rng)
        model = self._fit(X0[fit_rows], features, rng)
        local = self._local(regions, features)
        if noise is not None:
            noise = as_2d(noise, "noise")
            if noise.shape != X0.shape:
                raise ValueError(f"noise has shape {noise.shape}; expected X0's {X0.shape}")
        if self.mode == "model":
            Xe = model.sample(int(self.n_mc), rng)
            Ze = rng.standard_normal(Xe.shape)
        else:
            if noise is None:
                raise ValueError("noise must be an (n_samples, n_features) array for "
                                 "mode='plugin'")
            Xe, Ze = X0[eval_rows][:, features], noise[eval_rows][:, features]
        family = self._choose_family(X0[fit_rows][:, features], len(eval_rows), local,
                                     rng.randint(np.iinfo(np.int32).max), p)
        if family == "gaussian":  # the real rows (and their noise) of the Gaussian estimate
            Xg = X0[eval_rows][:, features]
            Zg = (rng.standard_normal(Xg.shape) if noise is None
                  else noise[eval_rows][:, features])
        for t in tqdm(times, desc="mixture CMI", disable=not self.verbose):
            if float(p.alpha(t)) == 0.0:  # pure noise: one Gaussian, every CMI is exactly 0
                zero = CMIResult(0.0, 0.0, np.zeros(len(Xe)), len(Xe))
                yield t, [zero] * len(local)
                continue
            if family == "gaussian":
                yield t, self._gaussian_cmi(p.noise(Xg, t, Zg), local)
                continue
            yield t, self._cmi(model.noised(p, t), local, p.noise(Xe, t, Ze))
