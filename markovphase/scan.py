"""PhaseScan: a locality probe over the grid of diffusion times (x radii).

Each time ``t`` is one *cell*: the probe is cloned, set to ``t`` and fitted
(all radii at once, since they share the noised data). Cells run in parallel
with joblib (any backend, dask included, via ``joblib.parallel_config``) and
are written to the cache as they finish, so an interrupted scan resumes
without recomputing finished cells. A probe in path mode (one run for every
time, :meth:`~markovphase.probes.Probe.iter_path`) hands back its cells one by
one; they are cached as they arrive too, and a rerun asks it only for the
missing times. Data and parameters are checked before the first cell
(:meth:`PhaseScan.content_key` runs the same checks without computing).

Names are resolved once, in :meth:`PhaseScan.fit`: the probe and the CMI
estimator from the plugin registry, the forward path from
:data:`~markovphase.diffusion.PATHS`. The probe gets the resolved objects
through a :class:`~markovphase.probes.ScanSetting` (so workers need no
registry), and the report reads the scan's labels (``probe_name_``,
``cmi_label_``) instead of looking anything up again.
"""

from __future__ import annotations

import numbers
import os
from types import SimpleNamespace

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from . import plugins, provenance
from .cache import CellCache, cache_key, canonical
from .diffusion import DEPRECATED, check_times, resolve_path
from .params import store_params
from .probes.base import Probe, ScanSetting, cell_payload, is_cell_payload, scan_params
from .probes.markov_length import markov_length_from_rows
from .seeding import draw_seed

__all__ = ["PhaseScan", "find_transition_window", "DEFAULT_TIMES", "check_nonnegative"]

DEFAULT_TIMES = tuple(np.round(np.linspace(0.0, 1.0, 11), 10))

#: parameters that change how a scan runs, not what it finds (left out of its content key)
RUN_ONLY_PARAMS = ("n_jobs", "verbose", "cache_dir")


def check_nonnegative(value, name: str) -> float:
    """``value`` as a float: a finite real number >= 0 (not a bool, text or NaN)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}={value!r} must be a finite real number >= 0")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name}={value!r} must be a finite real number >= 0")
    return float(value)


def _contiguous_around(mask: np.ndarray, i: int) -> tuple[int, int]:
    lo = hi = i
    while lo > 0 and mask[lo - 1]:
        lo -= 1
    while hi < len(mask) - 1 and mask[hi + 1]:
        hi += 1
    return lo, hi


def find_transition_window(times, cmi, stderr, xi=None, threshold: float = 0.5,
                           xi_factor: float = 2.0, significance: float = 2.0,
                           xi_low=None) -> dict:
    """Locate the transition window along the path.

    CMI criterion (at the smallest radius): the baseline ``b`` is the larger
    of the values at the two ends of the scanned path (the data phase and the
    trivial phase); the peak ``p = max_t cmi(t)`` marks a transition when it
    stands out from both ends, ``p > (1 + threshold) * b`` and
    ``p - b > significance * stderr(peak)``. The window is the contiguous run
    of times around the peak where ``cmi(t) - b > (p - b) / 2`` (half height).

    Markov-length criterion: ``xi_low(t) > xi_factor * max(xi(t_first), xi(t_last))``
    (finite, positive end values), where ``xi_low`` is the lower end of xi's
    95 % interval (``xi`` itself when no interval is given), so a noisy fit
    does not open a window; the window is the contiguous run around the
    largest xi. The reported window spans both criteria's windows.

    Cells whose value is NaN (not estimable) are left out. Returns a dict:
    ``window`` ((t_lo, t_hi) or None), ``peak_time``, ``baseline``, ``peak``,
    ``by_cmi``, ``by_xi`` (each (lo, hi) or None). ``threshold``, ``xi_factor``
    and ``significance`` must be finite reals >= 0.
    """
    threshold = check_nonnegative(threshold, "window_threshold")
    xi_factor = check_nonnegative(xi_factor, "xi_factor")
    significance = check_nonnegative(significance, "significance")
    times = np.asarray(times, float)
    c = np.asarray(cmi, float)
    se = np.nan_to_num(np.asarray(stderr, float), nan=0.0)
    finite = np.isfinite(c)  # cells that were not estimable drop out
    times, c, se = times[finite], c[finite], se[finite]
    if xi is not None:
        xi = np.asarray(xi, float)[finite]
        xi_low = xi if xi_low is None else np.asarray(xi_low, float)[finite]
    out = {"window": None, "by_cmi": None, "by_xi": None, "peak_time": None,
           "baseline": None, "peak": None}
    if len(times) == 0 or not np.any(np.isfinite(c)):
        return out
    i = int(np.nanargmax(c))
    b, p = float(max(c[0], c[-1])), float(c[i])
    out.update(peak_time=float(times[i]), baseline=b, peak=p)
    if 0 < i < len(c) - 1 and p > (1 + threshold) * max(b, 0) and p - b > significance * se[i]:
        lo, hi = _contiguous_around(c - b > (p - b) / 2, i)
        out["by_cmi"] = (float(times[lo]), float(times[hi]))
    if xi is not None:
        x = np.asarray(xi, float)
        base = max(x[0], x[-1])
        if np.isfinite(base) and base > 0:
            lo_x = np.nan_to_num(xi_low, nan=0.0)
            flag = lo_x > xi_factor * base
            flag[[0, -1]] = False
            if flag.any():
                j = int(np.argmax(np.where(flag, np.nan_to_num(x, posinf=1e300), -np.inf)))
                lo, hi = _contiguous_around(flag, j)
                out["by_xi"] = (float(times[lo]), float(times[hi]))
    spans = [w for w in (out["by_cmi"], out["by_xi"]) if w is not None]
    if spans:
        out["window"] = (min(w[0] for w in spans), max(w[1] for w in spans))
    return out


def _fit_cell(template: BaseEstimator, X: np.ndarray, t: float) -> tuple[float, dict]:
    probe = clone(template).set_params(t=float(t)).fit(X)
    return float(t), cell_payload(probe)


class PhaseScan(BaseEstimator):
    """A locality probe scanned over diffusion times: CMI(t, r), xi(t), the window.

    Parameters
    ----------
    lattice_shape : tuple of int or None, default=None
    times : sequence of float, default=(0, 0.1, ..., 1)
    radii : sequence of int, default=(1, 2, 3)
    probe : str, class or estimator, default="markov"
        A registered probe (``markovphase plugins`` lists them); ``"cmi"`` is
        the deprecated name of ``"markov"``.
    cmi : str, class or CMIEstimator, default="gaussian"
        Passed to probes that take a ``cmi`` parameter. Names are resolved to
        classes before work is dispatched, so workers need no registry.
    sites, patch, n_channels, periodic
        Passed to the probe where it has such a parameter.
    path : str or DiffusionPath, default="linear"
        The forward path (resolved once, passed to the probe).
    probe_params : dict or None, default=None
        Further probe parameters (override the ones above).
    window_threshold : float, default=0.5
        Relative height above baseline that marks a transition, a finite
        real >= 0 (see :func:`find_transition_window`).
    n_jobs : int or None, default=None
        Cells in parallel (joblib; honours ``joblib.parallel_config``).
    cache_dir : str, path or None, default=None
        Where finished cells are written as they complete; a rerun with the
        same data and parameters resumes from them.
    random_state : int, RandomState or None, default=None
        One seed for every cell: each sample keeps the same noise at every t.
    verbose : int, default=0
        >0 shows a tqdm progress bar over cells.
    cmi_params : dict or None, default=None
        Parameters of the CMI estimator when ``cmi`` is a name or a class
        (e.g. ``{"k": 8}``); set on a clone when it is an instance.
    schedule : str or DiffusionPath, default="deprecated"
        Deprecated spelling of ``path`` (``FutureWarning``; removed in the next release).

    Attributes
    ----------
    results_ : pandas.DataFrame
        Tidy table: t, snr, log_snr, r, value, stderr and the probe's extra columns.
    markov_length_ : pandas.DataFrame
        Per t: xi, xi_low, xi_high, status.
    peak_time_ : float
        Time of the largest value at the smallest radius.
    transition_window_ : tuple (t_lo, t_hi) or None
    window_details_ : dict
    probe_ : estimator
        The probe as every cell got it (unfitted; ``t`` set per cell).
    probe_name_, cmi_label_ : str
        The probe's registered name and the estimator's (with its non-default
        parameters, e.g. ``knn(k=8)``; ``None`` for probes without ``cmi``).
    path_ : DiffusionPath
    n_cells_computed_, n_cells_cached_ : int
    n_samples_fit_ : int
        Rows of ``X``.
    feature_variance_ : float
        Mean variance of the clean features (data units squared): the unit of
        the ``"weighted"`` schedule criterion
        (:meth:`~markovphase.schedule.LocalitySchedule.from_scan`).
    content_key_ : str
        :meth:`content_key` of the fit (data + every parameter that changes a result).
    cache_path_ : str or None
    """

    def __init__(self, lattice_shape=None, times=DEFAULT_TIMES, radii=(1, 2, 3), probe="markov",
                 cmi="gaussian", sites=None, patch=1, n_channels=1, periodic=False,
                 path="linear", probe_params=None, window_threshold=0.5, n_jobs=None,
                 cache_dir=None, random_state=None, verbose=0, cmi_params=None,
                 schedule=DEPRECATED):
        store_params(self, locals())

    def _resolve_cmi(self):
        """The ``cmi`` parameter as a class or an instance (the one name lookup)."""
        cmi = plugins.get("cmi", self.cmi) if isinstance(self.cmi, str) else self.cmi
        if self.cmi_params:
            cmi = (cmi(**self.cmi_params) if isinstance(cmi, type)
                   else clone(cmi).set_params(**self.cmi_params))
        return cmi

    def _template(self, seed: int, path) -> tuple[BaseEstimator, str, str | None]:
        """The probe with the scan's setting (names resolved here, once), its registered
        name and the estimator's label."""
        spec = plugins.get("probe", self.probe) if isinstance(self.probe, str) else self.probe
        template = spec() if isinstance(spec, type) else clone(spec)
        accepted = template.get_params(deep=False)
        cmi = self._resolve_cmi() if "cmi" in accepted else None
        setting = ScanSetting(lattice_shape=self.lattice_shape, radii=self.radii,
                              sites=self.sites, patch=self.patch, n_channels=self.n_channels,
                              periodic=self.periodic, path=path, cmi=cmi,
                              random_state=seed)
        params = (template.scan_params(setting) if isinstance(template, Probe)
                  else scan_params(template, setting))
        params.update(self.probe_params or {})
        unknown = set(params) - set(accepted)
        if unknown:
            raise ValueError(f"probe_params {sorted(unknown)} are not parameters of probe "
                             f"{type(template).__name__}; it takes {sorted(accepted)}")
        if "random_state" in accepted:
            params["random_state"] = seed
        return (template.set_params(**params), plugins.describe("probe", spec),
                None if cmi is None else plugins.describe("cmi", cmi))

    def _plan(self, X: np.ndarray) -> SimpleNamespace:
        """Every check of :meth:`fit` on validated rows ``X``, and the keys; computes no cell."""
        check_nonnegative(self.window_threshold, "window_threshold")
        n_jobs = self.n_jobs
        if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(
                n_jobs, numbers.Integral) or n_jobs == 0):
            raise ValueError(f"n_jobs={n_jobs!r} must be None or a non-zero integer (workers; "
                             "-1: every core)")
        times = check_times(self.times, "times", increasing=True)
        path = resolve_path(self.path, self.schedule, "PhaseScan")
        seed = draw_seed(self.random_state)
        template, probe_name, cmi_label = self._template(seed, path)
        if isinstance(template, Probe):
            template.check_input(X)  # bad radii, too few samples, ...: before any work
        cache_params = {"probe": template, "markovphase": provenance.version() or "0"}
        params = {k: v for k, v in self.get_params(deep=False).items()
                  if k not in RUN_ONLY_PARAMS}
        params.update(times=times.tolist(), probe=canonical(template))
        data_key = cache_key(X, {})  # the data alone; the scan's key adds the parameters
        return SimpleNamespace(
            times=times, path=path, template=template, probe_name=probe_name,
            cmi_label=cmi_label, cache_params=cache_params,
            cache_key=cache_key(X, cache_params),
            key=cache_key(np.zeros(0), {"data": data_key, **params}),
            info={"data": data_key, "n_samples": int(X.shape[0]),
                  "n_features": int(X.shape[1]), "params": canonical(params)})

    def content_key(self, X) -> tuple[str, dict]:
        """Check ``X`` and every parameter as :meth:`fit` does, computing nothing.

        Returns ``(key, info)``: the key hashes the data and every parameter
        that changes a result (not ``n_jobs``, ``verbose``, ``cache_dir``);
        ``info`` has the data's own key (``data``), its shape and the canonical
        parameters (``params``) -- what a report folder's manifest records
        (:class:`markovphase.outdir.OutputDir`). With ``random_state=None`` (or
        a ``RandomState``) every call draws a new seed, hence a new key.
        Raises what :meth:`fit` would raise on bad input.
        """
        plan = self._plan(check_array(X, dtype=np.float64))
        return plan.key, plan.info

    def fit(self, X, y=None):
        """Run the probe at every time in ``times`` on the clean samples ``X``.

        Everything is checked before the first cell; finished cells are cached
        (``cache_dir``) as they arrive, in path mode too.
        """
        X = validate_data(self, X, dtype=np.float64)
        plan = self._plan(X)
        times, template = plan.times, plan.template
        self.path_, self.probe_ = plan.path, template
        self.probe_name_, self.cmi_label_ = plan.probe_name, plan.cmi_label
        self.n_samples_fit_, self.content_key_ = int(X.shape[0]), plan.key
        self.feature_variance_ = float(X.var(axis=0).mean())  # the unit of weighted excess
        cache = CellCache(self.cache_dir, plan.cache_key, plan.cache_params,
                          validate=is_cell_payload)
        self.cache_path_ = None if cache.dir is None else os.fspath(cache.dir)
        cells = {float(t): cache.load(t) for t in times}
        todo = [t for t, payload in cells.items() if payload is None]
        self.n_cells_cached_ = len(times) - len(todo)
        self.n_cells_computed_ = len(todo)
        from tqdm.auto import tqdm

        bar = tqdm(total=len(times), initial=self.n_cells_cached_, desc="phase scan",
                   unit="cell", disable=not self.verbose or not todo)
        with bar:
            if todo and isinstance(template, Probe) and template.supports_path():
                # one run for every time (e.g. a t-conditioned network); cached as they arrive
                by_name = {cache.cell_name(t): t for t in todo}
                for t, payload in self._path_probe(template, cache).iter_path(X, todo):
                    key = by_name.get(cache.cell_name(t))
                    if key is None:
                        raise ValueError(f"probe {plan.probe_name!r} returned t={t!r}, which "
                                         f"the scan did not ask for ({len(todo)} times)")
                    cache.save(key, payload)
                    cells[key] = payload
                    bar.update()
                missing = [t for t in todo if cells[t] is None]
                if missing:
                    raise ValueError(f"probe {plan.probe_name!r} returned no cell for "
                                     f"t={missing}; the finished ones are cached")
            elif todo:
                jobs = Parallel(n_jobs=self.n_jobs, return_as="generator_unordered")(
                    delayed(_fit_cell)(template, X, t) for t in todo
                )
                for t, payload in jobs:
                    cache.save(t, payload)  # written as it finishes
                    cells[t] = payload
                    bar.update()
        self._assemble(times, cells)
        return self

    def _path_probe(self, template, cache: CellCache):
        """A clone of ``template`` with the run-only settings it takes: the folder of
        training checkpoints (``cache_dir/checkpoints``: a killed neural run resumes
        its training) and ``verbose`` (a bar per training run). Neither is in a key."""
        probe = clone(template)
        accepted = probe.get_params(deep=False)
        run_only = {"verbose": self.verbose, "checkpoint_dir": None if cache.dir is None
                    else os.path.join(cache.dir, "checkpoints")}
        return probe.set_params(**{k: v for k, v in run_only.items()
                                   if k in accepted and v is not None})

    def _assemble(self, times, cells) -> None:
        rows, xis = [], []
        for t in times:
            payload = cells[float(t)]
            snr = float(self.path_.snr(t))
            for row in payload["rows"]:
                rows.append({"t": float(t), "snr": snr,
                             "log_snr": float(np.log(snr)) if snr > 0 else -np.inf, **row})
            ml = payload.get("markov_length")
            if ml is None:  # a cell cached without its record
                ml = markov_length_from_rows(payload["rows"])
            xis.append({"t": float(t), "snr": snr, "xi": ml.get("xi", np.nan),
                        "xi_low": ml.get("xi_low", np.nan), "xi_high": ml.get("xi_high", np.nan),
                        "status": ml.get("status", "")})
        res = pd.DataFrame(rows)
        lead = ["t", "snr", "log_snr", "r", "value", "stderr"]
        self.results_ = res[lead + sorted(c for c in res.columns if c not in lead)]
        self.markov_length_ = pd.DataFrame(xis)
        first = self.results_.sort_values("r", na_position="first").groupby("t", sort=True).first()
        win = find_transition_window(first.index.to_numpy(), first["value"], first["stderr"],
                                     self.markov_length_["xi"].to_numpy(), self.window_threshold,
                                     xi_low=self.markov_length_["xi_low"].to_numpy())
        self.window_details_ = win
        self.peak_time_ = win["peak_time"]
        self.transition_window_ = win["window"]

    def cmi_table(self, column: str = "value") -> pd.DataFrame:
        """``column`` as a (t x r) table (rows t, columns r)."""
        check_is_fitted(self)
        return self.results_.pivot(index="t", columns="r", values=column)

    def locality_radii(self, tolerance: float) -> pd.DataFrame:
        """Per t, the smallest scanned radius whose value is within ``tolerance``.

        ``radius`` is NaN where no scanned radius is (a global model is needed
        there). This is the data of a locality schedule.
        """
        from .schedule_scan import smallest_radius_within

        check_is_fitted(self)
        return smallest_radius_within(self.results_, "value", tolerance)

    def write_report(self, out_dir, **kwargs):
        """Write CSV, JSON, figures and a summary to ``out_dir`` (see :mod:`markovphase.report`)."""
        from .report import write_report

        return write_report(self, out_dir, **kwargs)
