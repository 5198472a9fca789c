"""The Markov probe: I(A;C|B(r)) against r at one diffusion time, and the Markov length."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .. import plugins
from ..cmi.base import CMIEstimator, CMIResult, check_scale
from ..compat import moved_names
from ..diffusion import DEPRECATED, check_time, fixed_noise, resolve_path
from ..lattice import Lattice, Regions, resolve_lattice
from ..params import store_params
from ..seeding import draw_seed
from .base import Probe, as_sites, check_radii
from .markov_length import RECORD_KEYS, fit_markov_length

__all__ = ["MarkovProbe", "fit_markov_length", "resolve_cmi"]

__getattr__ = moved_names(__name__, {"lattice_from_params": "markovphase.lattice:resolve_lattice"})


def resolve_cmi(cmi, random_state=None) -> CMIEstimator:
    """A fresh estimator from a registered name, a class or an instance (cloned).

    An estimator with a ``random_state`` parameter left at ``None`` gets
    ``random_state`` so that the probe's seed makes the whole fit repeatable.
    """
    est = plugins.resolve("cmi", cmi)
    est = clone(est) if isinstance(est, BaseEstimator) else est
    if not isinstance(est, CMIEstimator) and not hasattr(est, "evaluate_regions"):
        raise TypeError(f"cmi={cmi!r} is not a CMI estimator (needs evaluate/evaluate_regions)")
    if "random_state" in est.get_params() and est.get_params()["random_state"] is None:
        est.set_params(random_state=random_state)
    return est


def _in_order(pairs, times: list[float]) -> Iterator:
    """The results of ``(t, result)`` pairs, in the order of ``times`` (buffered)."""
    got, it = {}, iter(pairs)
    for t in times:
        while t not in got:
            try:
                tt, res = next(it)
            except StopIteration:
                raise ValueError(f"the estimator's path run gave no result for t={t}") from None
            got[float(tt)] = res
        yield got.pop(t)


class MarkovProbe(TransformerMixin, Probe):
    """Conditional mutual information I(A;C|B(r)) against the radius r at time t.

    ``fit(X)`` noises the clean samples ``X`` to time ``t`` of the forward
    path (one fixed noise draw per sample under ``random_state``), cuts the
    lattice into A (the site or patch), B(r) (the Chebyshev ring 1..r) and C
    (the rest) around each site, estimates I(A;C|B(r)) in nats for every
    radius and fits the Markov length xi from ``I(r) ~ gamma exp(-r/xi)``.

    Features that are constant in the noised data (e.g. MNIST border pixels at
    t = 0) carry no information: they are dropped from B and C; if A itself
    is constant, I(A;C|B) = 0 exactly and is reported as 0 with stderr 0.

    Parameters
    ----------
    lattice_shape : tuple of int or None, default=None
        Spatial shape; ``None`` treats the features as a 1-D chain.
    radii : sequence of int, default=(1, 2, 3)
        Strictly increasing radii; each must leave C non-empty.
    t : float, default=0.0
        Diffusion time in [0, 1].
    sites : site, list of sites or None, default=None
        A's site(s); ``None`` is the centre. Several sites are averaged.
    patch : int, default=1
        Side of A (``patch``-wide hypercube).
    n_channels : int, default=1
    periodic : bool, default=False
    path : str or DiffusionPath, default="linear"
        Forward path (see :mod:`markovphase.diffusion`).
    cmi : str, class or CMIEstimator, default="gaussian"
        A registered name, a class or an instance (cloned in ``fit``).
    noise_floor : float, default=2.0
        Estimates at or below ``noise_floor * stderr`` are treated as
        consistent with 0 in the Markov-length fit.
    random_state : int, RandomState or None, default=None
        Seeds the noise and the estimator.
    schedule : str or DiffusionPath, default="deprecated"
        Deprecated spelling of ``path`` (``FutureWarning``; removed in the next release).
    checkpoint_dir : str, path or None, default=None
        Handed to an estimator that trains (``neural``, ``mine``: its
        ``checkpoint_dir``) in :meth:`iter_path`, so a killed path run resumes
        its training; :class:`~markovphase.PhaseScan` sets it to
        ``cache_dir/checkpoints``. Does not change any result.
    verbose : int, default=0
        Handed to the estimator's ``verbose`` in :meth:`iter_path` when that is
        0 (a progress bar per training run); :class:`~markovphase.PhaseScan`
        passes its own. Does not change any result.

    Attributes
    ----------
    cmi_ : ndarray of shape (n_radii,)
        I(A;C|B(r)) in nats, averaged over sites.
    cmi_stderr_ : ndarray of shape (n_radii,)
        Its standard error (sites treated as independent: sqrt(sum se^2) / n_sites).
    mi_total_, mi_total_stderr_ : float
        I(A;BC), A against every other site.
    markov_length_ : float
        xi in lattice units; ``markov_length_ci_`` its 95 % interval and
        ``markov_length_status_`` how it was obtained (see :func:`fit_markov_length`).
    results_ : list of dict
        One row per radius (probe protocol): r, value, stderr, mi_total, n_samples,
        note. A cell the estimator cannot handle (a singular covariance, e.g.
        collinear clean pixels at t = 0) is reported as NaN with the reason in
        ``note`` and ``notes_``, never as a number.
    radii_ : ndarray, lattice_ : Lattice, sites_ : list, estimator_ : CMIEstimator,
    path_ : DiffusionPath
    """

    def __init__(self, lattice_shape=None, radii=(1, 2, 3), t=0.0, sites=None, patch=1,
                 n_channels=1, periodic=False, path="linear", cmi="gaussian",
                 noise_floor=2.0, random_state=None, schedule=DEPRECATED, checkpoint_dir=None,
                 verbose=0):
        store_params(self, locals())

    # -- geometry -------------------------------------------------------------
    def _check_radii(self, lattice: Lattice, sites: list) -> np.ndarray:
        """The radii, each leaving C non-empty around every site (checked before any is made)."""
        limits = [(lattice.max_radius(site, self.patch), site) for site in sites]
        rmax, site = min(limits, key=lambda x: x[0])
        return check_radii(self.radii, below=rmax,
                           where=f"around site {site} of the lattice {lattice.shape}")

    def regions(self, radii=None) -> list[tuple[object, list[Regions]]]:
        """The regions the fitted probe estimates: per site, ``(site, regions)`` with the
        :class:`~markovphase.lattice.Regions` ``(A, B(r), C)`` of every radius (``radii``,
        default the fitted ``radii_``), then ``(A, [], every other feature)`` for I(A;BC)."""
        check_is_fitted(self)
        lattice = self.lattice_
        radii = self.radii_ if radii is None else radii
        out = []
        for site in as_sites(self.sites, lattice):
            regs = [lattice.regions(site, int(r), self.patch) for r in radii]
            A = regs[0].A
            rest = np.setdiff1d(np.arange(lattice.n_features), A)
            regs.append(Regions(A, np.empty(0, dtype=np.intp), rest))  # I(A;BC)
            out.append((site, regs))
        return out

    def _prepare(self, X, reset: bool):
        X = validate_data(self, X, dtype=np.float64, reset=reset)
        return X

    def _noised(self, X):
        t = check_time(self.t)
        z = fixed_noise(X.shape[0], X.shape[1], self._noise_seed)
        return self.path_.noise(X, t, z)

    @staticmethod
    def _drop_constant(Xt, regs: list[Regions]):
        const = np.ptp(Xt, axis=0) == 0 if len(Xt) else np.zeros(Xt.shape[1], bool)
        if not const.any():
            return regs, False
        keep = lambda idx: idx[~const[idx]]  # noqa: E731
        a_const = bool(const[regs[0].A].all())
        return [Regions(keep(r.A), keep(r.B), keep(r.C)) for r in regs], a_const

    def _evaluate(self, Xt, lattice) -> list[list[CMIResult]]:
        """Per site, the CMIResults of every radius then I(A;BC)."""
        per_site = []
        for _, regs in self.regions():
            regs, a_const = self._drop_constant(Xt, regs)
            if a_const:
                zero = CMIResult(0.0, 0.0, np.zeros(len(Xt)), len(Xt))
                per_site.append([zero] * len(regs))
                continue
            empty_c = [i for i, r in enumerate(regs) if r.C.size == 0]
            todo = [i for i in range(len(regs)) if i not in empty_c]
            try:
                res = self.estimator_.evaluate_regions(Xt, [regs[i] for i in todo],
                                                       lattice=lattice)
            except np.linalg.LinAlgError as exc:  # e.g. collinear clean pixels at t = 0
                self.notes_.append(f"not estimable at t={self.t}: {exc}")
                res = [CMIResult(np.nan, np.nan, None, len(Xt))] * len(todo)
            full: list[CMIResult] = [CMIResult(0.0, 0.0, np.zeros(len(Xt)), len(Xt))] * len(regs)
            for i, r in zip(todo, res, strict=True):
                full[i] = r
            per_site.append(full)
        return per_site

    def fit(self, X, y=None):
        """Estimate I(A;C|B(r)) for every radius on ``X`` noised to ``t``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_sites * n_channels)
            Clean samples (t = 0), flattened with channels last.
        """
        X = self._setup(X)
        self._set_results(self._evaluate(self._noised(X), self.lattice_), n_samples=len(X))
        return self

    def _check_setting(self, X: np.ndarray) -> tuple[Lattice, list, np.ndarray]:
        """Lattice, sites and radii for the validated rows ``X``; refuses what cannot work
        (a radius that empties C, fewer samples than the estimator needs, values whose
        squares overflow) before anything is computed or stored."""
        check_time(self.t)
        est = resolve_cmi(self.cmi)
        lattice = resolve_lattice(self.lattice_shape, self.n_channels, self.periodic,
                                  X.shape[1])
        sites = as_sites(self.sites, lattice)
        radii = self._check_radii(lattice, sites)
        need = max(2, int(getattr(est, "min_samples", 2)))
        if len(X) < need:
            raise ValueError(f"X has {len(X)} sample(s); MarkovProbe with cmi="
                             f"{type(est).__name__} needs at least {need} (one sample carries "
                             "no information about dependence)")
        check_scale(X, "X")
        return lattice, sites, radii

    def check_input(self, X) -> None:
        """Refuse ``X`` or parameters :meth:`fit` cannot use, computing nothing (probe
        protocol): times outside [0, 1], radii that leave C empty, fewer samples than
        the estimator needs, non-finite values or values whose squares overflow."""
        self._check_setting(check_array(X, dtype=np.float64))

    def _setup(self, X) -> np.ndarray:
        """Validate ``X`` and the parameters; set the geometry, seeds and estimator."""
        X = self._prepare(X, reset=True)
        self.path_ = resolve_path(self.path, self.schedule, "MarkovProbe")
        self.lattice_, self.sites_, self.radii_ = self._check_setting(X)
        rng = check_random_state(self.random_state)
        self._noise_seed = draw_seed(rng)
        self.estimator_ = resolve_cmi(self.cmi, draw_seed(rng))
        self.notes_ = []
        return X

    def markov_length_record(self) -> dict:
        """``xi``, ``xi_low``, ``xi_high`` and ``status`` of the fitted Markov length
        (the fit with this probe's ``noise_floor``)."""
        check_is_fitted(self)
        values = (self.markov_length_, *self.markov_length_ci_, self.markov_length_status_)
        return dict(zip(RECORD_KEYS, values, strict=True))

    def _set_results(self, per_site: list[list[CMIResult]], n_samples: int) -> None:
        vals = np.array([[r.value for r in site] for site in per_site], float)
        ses = np.array([[r.stderr for r in site] for site in per_site], float)
        n_sites = len(per_site)
        mean = vals.mean(axis=0)
        se = np.sqrt(np.nansum(ses**2, axis=0)) / n_sites
        se[np.all(np.isnan(ses), axis=0)] = np.nan
        k = len(self.radii_)
        self.cmi_, self.cmi_stderr_ = mean[:k], se[:k]
        self.mi_total_, self.mi_total_stderr_ = float(mean[k]), float(se[k])
        fit = fit_markov_length(self.radii_, self.cmi_, self.cmi_stderr_, self.noise_floor)
        self.markov_length_ = float(fit["xi"])
        self.markov_length_ci_ = (float(fit["xi_low"]), float(fit["xi_high"]))
        self.markov_length_status_ = fit["status"]
        used = [r.n_samples for site in per_site for r in site[:-1] if r.n_samples]
        n_samples = int(min(used)) if used else n_samples  # e.g. held-out rows of a network
        note = "; ".join(self.notes_)
        self.results_ = [
            {"r": int(r), "value": float(v), "stderr": float(s), "mi_total": self.mi_total_,
             "mi_total_stderr": self.mi_total_stderr_, "n_samples": n_samples, "note": note}
            for r, v, s in zip(self.radii_, self.cmi_, self.cmi_stderr_, strict=True)
        ]

    def supports_path(self) -> bool:
        """Whether the estimator serves every time in one run
        (:meth:`~markovphase.cmi.CMIEstimator.supports_path`)."""
        est = resolve_cmi(self.cmi)
        return isinstance(est, CMIEstimator) and est.supports_path()

    def fit_path(self, X, times) -> dict[float, dict]:
        """Scan-cell payloads for every time in ``times`` from one estimator run.

        Returns ``{t: {"rows": ..., "markov_length": ...}}``, the items of
        :meth:`iter_path`.
        """
        return dict(self.iter_path(X, times))

    def iter_path(self, X, times) -> Iterator[tuple[float, dict]]:
        """Yield ``(t, payload)`` for every time in ``times`` as each is finished.

        Uses the estimator's ``iter_path`` where it has one (results per time
        as they are ready), else its ``evaluate_path(X0, noise, path, times,
        regions, lattice)`` (e.g. one t-conditioned network for the whole
        path), with the same fixed noise per sample as :meth:`fit`. Several
        sites advance together, one time at a time. Payloads are
        ``{"rows": ..., "markov_length": ...}`` as :class:`~markovphase.PhaseScan`
        caches them.
        """
        X = self._setup(X)
        z = fixed_noise(X.shape[0], X.shape[1], self._noise_seed)
        times = [float(t) for t in times]
        est = self.estimator_
        accepted = est.get_params(deep=False)
        if self.checkpoint_dir is not None and "checkpoint_dir" in accepted:
            est.set_params(checkpoint_dir=self.checkpoint_dir)
        if self.verbose and accepted.get("verbose", None) == 0:
            est.set_params(verbose=self.verbose)
        runs = []
        for _, regs in self.regions():
            if hasattr(est, "iter_path"):
                pairs = est.iter_path(X, z, self.path_, times, regs, self.lattice_)
            else:
                res = est.evaluate_path(X, z, self.path_, times, regs, self.lattice_)
                pairs = ((t, res[t]) for t in times)
            runs.append(_in_order(pairs, times))
        for t, *per_site in zip(times, *runs, strict=True):
            self._set_results(per_site, n_samples=len(X))
            yield t, {"rows": self.results_, "markov_length": self.markov_length_record()}

    def transform(self, X):
        """Per-sample (pointwise) CMI terms per radius on ``X`` noised to ``t``.

        Column ``j`` holds the per-sample terms of I(A;C|B(radii[j])) whose
        mean is the estimate on ``X`` (averaged over sites); ``X`` is noised
        with the fitted noise seed. Raises ``TypeError`` when the estimator
        has no per-sample terms (``has_pointwise = False``).
        """
        check_is_fitted(self)
        X = self._prepare(X, reset=False)
        if not getattr(self.estimator_, "has_pointwise", False):
            raise TypeError(
                f"cmi estimator {type(self.estimator_).__name__} provides no per-sample "
                "(pointwise) terms; use cmi='gaussian', 'copula' or 'knn' for transform"
            )
        per_site = self._evaluate(self._noised(X), self.lattice_)
        k = len(self.radii_)
        cols = [[np.asarray(res[j].pointwise, float) for res in per_site] for j in range(k)]
        return np.column_stack([np.mean(c, axis=0) for c in cols])

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self)
        return np.asarray([f"r{int(r)}_cmi" for r in self.radii_], dtype=object)

    def score(self, X, y=None):
        """Minus the total CMI beyond the largest radius on ``X`` (greater is more local).

        ``-I(A;C|B(r_max))`` in nats, on ``X`` noised to ``t``.
        """
        check_is_fitted(self)
        X = self._prepare(X, reset=False)
        per_site = self._evaluate(self._noised(X), self.lattice_)
        k = len(self.radii_)
        return -float(np.mean([site[k - 1].value for site in per_site]))
