r"""Hybrid reverse-time sampler: local denoisers outside the transition window, a global one inside.

Denoiser protocol
-----------------
The sampler needs one thing of a denoiser: ``denoise(X, t)``, the
posterior-mean estimate ``x0_hat = E[x0 | x_t = X]`` of the clean sample from
rows ``X`` taken as ``x_t`` at time ``t`` (data units). Every denoiser of
:mod:`markovphase.denoisers` (``LocalDenoiser``, ``GlobalDenoiser``,
``LinearLocalDenoiser``, ``PatchPosteriorDenoiser``) has it; an object with
``predict_x0(X, t)`` instead, or a plain callable ``f(X, t)``, is wrapped by
:func:`as_denoiser`. An object may also expose ``flops(n_samples, t)`` to
report its own cost.

Probability-flow ODE
--------------------
For a path ``x_t = alpha(t) x0 + sigma(t) z`` the deterministic (probability
flow) dynamics that keep the marginals of x_t are ``dx/dt = E[dx_t/dt | x_t]``::

    dx/dt = alpha'(t) x0_hat + sigma'(t) eps_hat,   eps_hat = (x - alpha x0_hat) / sigma.

For the paper's linear path ``x_t = (1 - t) x0 + t z`` (alpha = 1 - t,
sigma = t) the velocity is ``dx_t/dt = z - x0`` and, with
``E[z | x_t] = (x_t - (1 - t) x0_hat) / t``,

    v(x, t) = (x - (1 - t) x0_hat) / t - x0_hat = (x - x0_hat(x, t)) / t,

which is integrated from ``t = 1`` (``x_1 = z``, pure noise) down to ``t = 0``.

* ``method="euler"``: ``x_s = x_t + (s - t) v(x_t, t)``. On the linear path this
  is ``x_s = (s/t) x_t + (1 - s/t) x0_hat``, identical to a DDIM step; the last
  step (to s = 0) returns ``x0_hat`` itself.
* ``method="heun"``: Euler predictor ``x~``, then
  ``x_s = x_t + (s - t) (v(x_t, t) + v(x~, s)) / 2`` (second order); the last
  step to ``s = 0`` is an Euler step (``v`` is singular at t = 0), as in
  Karras et al. (2022). Two denoiser calls per step but the last.
* ``method="ddim"`` (any path, the variance-preserving ones in particular):
  ``x_s = alpha(s) x0_hat + sigma(s) eps_hat`` (Song et al., 2021, eta = 0).

The starting point is ``x_1 = sigma(1) z`` (the ``alpha(1) x0`` term, 0 on
the linear and cosine paths, is dropped).

Schedule and accounting
-----------------------
At each evaluation time ``t`` the sampler calls the local denoiser of radius
``schedule.radius_at(t)``, or the global one where that is ``None``. Every call
is charged to the schedule interval ("phase") holding ``t``: number of calls,
floating-point operations and wall time. FLOPs of torch networks (an attribute
``network_`` that is a ``torch.nn.Module``) are counted once per denoiser with
:class:`torch.utils.flop_counter.FlopCounterMode` on a 2-row probe and scaled
by the batch size (convolutions and MLPs are linear in the batch); closed-form
denoisers are counted analytically (:func:`analytic_flops`). A multiply-add is
2 FLOPs throughout.
"""

from __future__ import annotations

import numbers
import time
import weakref

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from .diffusion import get_path
from .schedule import LocalitySchedule

__all__ = ["HybridSampler", "CenteredDenoiser", "as_denoiser", "analytic_flops",
           "denoiser_flops", "time_grid", "TIME_SPACINGS"]

METHODS = ("euler", "heun", "ddim")


class _Adapter:
    """Gives ``denoise(X, t)`` to an object with ``predict_x0`` or to a callable."""

    def __init__(self, obj, fn):
        self.obj, self._fn = obj, fn
        self.n_features_in_ = getattr(obj, "n_features_in_", None)

    def denoise(self, X, t):
        return self._fn(X, t)

    def __repr__(self):
        return f"as_denoiser({self.obj!r})"


def as_denoiser(obj):
    """``obj`` as an object with ``denoise(X, t) -> x0_hat`` (see the module docstring).

    Accepts anything with ``denoise``, an object with ``predict_x0(X, t)``, or a
    callable ``f(X, t)``. Raises ``TypeError`` otherwise.
    """
    if hasattr(obj, "denoise") and callable(obj.denoise):
        return obj
    if hasattr(obj, "predict_x0") and callable(obj.predict_x0):
        return _Adapter(obj, obj.predict_x0)
    if callable(obj):
        return _Adapter(obj, obj)
    raise TypeError(f"{obj!r} is not a denoiser: expected an object with denoise(X, t) "
                    "(posterior mean of x0) or predict_x0(X, t), or a callable f(X, t)")


class CenteredDenoiser:
    """A denoiser fitted on per-feature centred data: ``D(x, t) = mu + D_c(x - alpha(t) mu, t)``.

    Translation-equivariant local networks (convolutions) cannot represent a
    position-dependent mean such as MNIST's average digit: far from the data
    (t near 1) the Bayes denoiser is ``E[x0] = mu``, which varies by pixel.
    Removing the per-feature mean ``mu`` of the training rows (a constant, so
    the receptive radius is unchanged) and adding it back fixes that:
    ``x_t - alpha mu = alpha (x0 - mu) + sigma z`` is the centred data noised
    on the same path.

    Parameters
    ----------
    estimator : denoiser estimator (unfitted; cloned in ``fit``)
        Anything with ``fit(X)`` and ``denoise(X, t)`` and a ``schedule`` path.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
    estimator_ : the fitted clone
    n_features_in_ : int
    """

    def __init__(self, estimator):
        self.estimator = estimator

    @classmethod
    def from_fitted(cls, fitted_estimator, mean) -> CenteredDenoiser:
        """Wrap an already fitted denoiser of centred data with its centring ``mean``."""
        obj = cls(fitted_estimator)
        obj.estimator_ = fitted_estimator
        obj.mean_ = np.asarray(mean, dtype=np.float64).ravel()
        obj.n_features_in_ = obj.mean_.size
        obj.path_ = get_path(getattr(fitted_estimator, "schedule", "linear"))
        return obj

    def fit(self, X, y=None):
        from sklearn.base import clone

        X = np.asarray(X, dtype=np.float64)
        self.mean_ = X.mean(axis=0)
        self.estimator_ = clone(self.estimator).fit(X - self.mean_)
        self.n_features_in_ = X.shape[1]
        self.path_ = get_path(getattr(self.estimator_, "schedule", "linear"))
        return self

    def denoise(self, X, t):
        a = float(self.path_.alpha(t))
        return self.mean_ + self.estimator_.denoise(np.asarray(X, float) - a * self.mean_, t)

    def flops(self, n_samples, t):
        """The wrapped denoiser's FLOPs plus ``3 n d`` for the centring."""
        base = denoiser_flops(self.estimator_, n_samples, t, self.n_features_in_)
        return base + 3.0 * n_samples * self.n_features_in_


# -- FLOP counting ---------------------------------------------------------------------
def analytic_flops(denoiser, n_samples: int, t: float) -> float | None:
    """FLOPs of one ``denoise`` call on ``n_samples`` rows for closed-form denoisers.

    * ``LinearLocalDenoiser`` (Wiener filter; ``M_p`` = features in the
      neighbourhood of site p, ``k`` channels, ``d`` features): applying the
      filters costs ``n (sum_p 2 k M_p + 3 d)``; building them at time t costs
      ``sum_p (M_p^3 / 3 + 2 k M_p^2 + M_p^2)`` (Cholesky, k triangular solve
      pairs, forming ``alpha^2 Sigma + sigma^2 I``) once per call, except that
      sites whose neighbourhood is the whole lattice share one factorisation
      (``d^3 / 3 + d^2``, plus ``2 k d^2`` per such site for the solves), as the
      implementation does.
    * ``PatchPosteriorDenoiser`` (``N`` reference patches of ``M`` values per
      site, ``S`` sites): per row and site ``N (2 M + 4 + 2 k) + 2 M``, plus the
      norms of the reference patches once per call.

    Returns ``None`` for other objects.
    """
    name = type(denoiser).__name__
    path = getattr(denoiser, "path_", None)
    a = float(path.alpha(t)) if path is not None else 1.0
    s = float(path.sigma(t)) if path is not None else 1.0
    if name == "LinearLocalDenoiser":
        d = int(denoiser.n_features_in_)
        if a == 0 or s == 0:
            return float(n_samples * d)
        lat = denoiser.lattice_
        k = lat.n_channels
        r = denoiser.radius
        dist = denoiser.site_distances_
        m = (np.full(dist.shape[0], dist.shape[1]) if r is None
             else (dist <= r).sum(axis=1)).astype(float) * k
        apply = n_samples * (np.sum(2.0 * k * m) + 3.0 * d)
        full = m == d  # these sites share one factorisation of the whole matrix
        setup = np.sum(m[~full] ** 3 / 3 + 2 * k * m[~full] ** 2 + m[~full] ** 2)
        if full.any():
            setup += d**3 / 3 + d**2 + 2.0 * k * d**2 * full.sum()
        return float(apply + setup)
    if name == "PatchPosteriorDenoiser":
        lat = denoiser.lattice_
        k, S = lat.n_channels, lat.n_sites
        M = (2 * int(denoiser.radius) + 1) ** lat.ndim * k
        if s == 0:
            return float(n_samples * lat.n_features)
        if getattr(denoiser, "bank_", None) is not None:
            N, norms = len(denoiser.bank_), 2.0 * len(denoiser.bank_) * M
        else:
            N = len(denoiser.Y_)
            norms = 2.0 * N * M * S
        return float(n_samples * S * (N * (2 * M + 4 + 2 * k) + 2 * M) + norms)
    return None


_TORCH_FLOPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # network -> FLOPs/row


def _torch_flops_per_sample(denoiser, n_features: int, t: float) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    key = denoiser.network_
    if key not in _TORCH_FLOPS:
        probe = np.random.default_rng(0).standard_normal((2, n_features))
        t_probe = t if t > 0 else 0.5
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            denoiser.denoise(probe, t_probe)
        _TORCH_FLOPS[key] = counter.get_total_flops() / 2.0
    return _TORCH_FLOPS[key]


def denoiser_flops(denoiser, n_samples: int, t: float, n_features: int) -> float:
    """FLOPs of ``denoiser.denoise`` on ``n_samples`` rows at ``t`` (NaN when unknown).

    Order of preference: the denoiser's own ``flops(n_samples, t)``; the torch
    FLOP counter for objects with a ``network_`` ``torch.nn.Module``; the
    analytic counts of :func:`analytic_flops`.
    """
    obj = getattr(denoiser, "obj", denoiser)
    if hasattr(obj, "flops") and callable(obj.flops):
        return float(obj.flops(n_samples, t))
    net = getattr(obj, "network_", None)
    if _is_module(net):
        return n_samples * _torch_flops_per_sample(obj, n_features, t)
    out = analytic_flops(obj, n_samples, t)
    return float("nan") if out is None else out


def _is_module(net) -> bool:
    if net is None:
        return False
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    return isinstance(net, torch.nn.Module)


# -- time grid -------------------------------------------------------------------------
def time_grid(steps: int, spacing="uniform", t_end: float = 0.0) -> np.ndarray:
    """Decreasing evaluation times ``1 = t_0 > t_1 > ... > t_steps = t_end``.

    Parameters
    ----------
    steps : int
        Number of intervals (ignored when ``spacing`` is an explicit grid).
    spacing : {"uniform", "quadratic", "cubic"}, float >= 1 or array
        A power ``rho`` gives ``t_i = t_end + (1 - t_end) (1 - i/steps)^rho``:
        ``"uniform"`` is ``rho = 1`` (equal steps in t), ``"quadratic"``
        ``rho = 2``, ``"cubic"`` ``rho = 3``; larger ``rho`` puts more of the
        steps near the data (small t) and fewer at high noise, as the
        ``rho`` of Karras et al. (2022) does in noise level. An array is an
        explicit grid, strictly decreasing from 1 to a value >= 0.
    t_end : float in [0, 1)
        Last time of the grid.

    Returns
    -------
    ndarray of shape (steps + 1,)
    """
    if not isinstance(spacing, (str, numbers.Real)):
        g = np.asarray(spacing, dtype=float)
        if g.ndim != 1 or g.size < 2 or np.any(np.diff(g) >= 0) or g[0] != 1 or g[-1] < 0:
            raise ValueError(f"time grid {spacing!r} must be strictly decreasing from 1 to a "
                             "value >= 0")
        return g
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(f"steps={steps!r} must be an integer >= 1")
    if not isinstance(t_end, numbers.Real) or not 0 <= t_end < 1:
        raise ValueError(f"t_end={t_end!r} must be a number in [0, 1)")
    rho = TIME_SPACINGS.get(spacing, spacing) if isinstance(spacing, str) else spacing
    if isinstance(rho, (str, bool)) or not np.isfinite(rho) or rho < 1:
        raise ValueError(f"time_spacing={spacing!r}; expected one of {sorted(TIME_SPACINGS)}, "
                         "a power >= 1 or an array of times")
    g = t_end + (1 - t_end) * np.linspace(1.0, 0.0, steps + 1) ** float(rho)
    g[0], g[-1] = 1.0, t_end
    return g


#: Named time grids of :func:`time_grid` and their powers ``rho``.
TIME_SPACINGS = {"uniform": 1.0, "quadratic": 2.0, "cubic": 3.0}


# -- the sampler -----------------------------------------------------------------------
class HybridSampler:
    """Reverse-time sampler that switches denoisers along a :class:`LocalitySchedule`.

    Parameters
    ----------
    schedule : LocalitySchedule, dict, str or None
        Which radius at which time (a schedule, its JSON dict/string/path).
        ``None`` means all-global.
    denoisers : dict {int: denoiser}, a denoiser, or None, default=None
        Fitted local denoisers by radius; a single one serves every local
        interval. Each needs ``denoise(X, t)`` (see :func:`as_denoiser`).
    global_denoiser : denoiser or None, default=None
        Used inside global intervals (required when the schedule has any).
    steps : int, default=50
        Integration steps from t = 1 to ``t_end``.
    method : {"heun", "euler", "ddim"}, default="heun"
        ``"euler"``/``"heun"`` integrate the linear path's ODE; ``"ddim"``
        works on every path (see the module docstring).
    schedule_path : str or DiffusionPath, default="linear"
        The forward path the denoisers were trained on (named ``schedule``
        elsewhere in the package; renamed here to avoid a clash).
    time_spacing : {"uniform", "quadratic", "cubic"}, float >= 1 or array, default="uniform"
        The time grid (:func:`time_grid`): a power ``rho`` puts the steps at
        ``t_i = (1 - i/steps)^rho``; an array is used as given.
    t_end : float, default=0.0
        Where integration stops; ``t_end > 0`` returns ``x_{t_end}`` (the
        sampler does not denoise the last state).
    count_flops : bool, default=True
    random_state : int, RandomState or None, default=None
        Seeds the starting noise.
    verbose : int, default=0
        ``> 0`` shows a tqdm bar over steps.

    Attributes (set by :meth:`sample`)
    ----------------------------------
    times_ : ndarray
        The time grid used.
    phases_ : pandas.DataFrame
        One row per schedule interval: ``phase, t_lo, t_hi, radius`` (``None``
        = global), ``n_calls`` (denoiser calls), ``flops``, ``wall_s`` (seconds
        inside denoiser calls).
    stats_ : dict
        ``total_flops``, ``flops_per_sample``, ``denoise_wall_s``,
        ``total_wall_s`` (whole run including integrator arithmetic),
        ``n_calls``, ``n_samples``, ``method``, ``steps``.
    """

    def __init__(self, schedule=None, denoisers=None, global_denoiser=None, steps=50,
                 method="heun", schedule_path="linear", time_spacing="uniform", t_end=0.0,
                 count_flops=True, random_state=None, verbose=0):
        self.schedule = schedule
        self.denoisers = denoisers
        self.global_denoiser = global_denoiser
        self.steps = steps
        self.method = method
        self.schedule_path = schedule_path
        self.time_spacing = time_spacing
        self.t_end = t_end
        self.count_flops = count_flops
        self.random_state = random_state
        self.verbose = verbose

    # -- validation -------------------------------------------------------------------
    def _schedule(self) -> LocalitySchedule:
        s = self.schedule
        if s is None:
            return LocalitySchedule.constant(None)
        if isinstance(s, LocalitySchedule):
            return s
        if isinstance(s, dict):
            return LocalitySchedule.from_dict(s)
        if isinstance(s, str):
            return LocalitySchedule.from_json(s)
        raise TypeError(f"schedule={s!r} must be a LocalitySchedule, its JSON (dict, string "
                        "or path) or None")

    def _resolve(self, sched: LocalitySchedule) -> dict:
        table = {}
        den = self.denoisers
        if sched.radii:
            if den is None:
                raise ValueError(f"the schedule uses local radii {sched.radii} but denoisers=None")
            if isinstance(den, dict):
                missing = [r for r in sched.radii if r not in den]
                if missing:
                    raise ValueError(f"the schedule uses radii {missing} with no denoiser in "
                                     f"denoisers (keys {sorted(den)})")
                table.update({r: as_denoiser(den[r]) for r in sched.radii})
            else:
                one = as_denoiser(den)
                table.update(dict.fromkeys(sched.radii, one))
        if sched.uses_global:
            if self.global_denoiser is None:
                raise ValueError(f"the schedule has global intervals ({sched.global_window}) "
                                 "but global_denoiser=None")
            table[None] = as_denoiser(self.global_denoiser)
        return table

    def _n_features(self, table, x_start):
        if x_start is not None:
            return x_start.shape[1]
        for d in table.values():
            n = getattr(getattr(d, "obj", d), "n_features_in_", None)
            if n is not None:
                return int(n)
        raise ValueError("cannot tell the number of features: pass x_start or denoisers with "
                         "n_features_in_")

    # -- sampling ---------------------------------------------------------------------
    def sample(self, n_samples=None, x_start=None, random_state=None) -> np.ndarray:
        """Draw samples by integrating the reverse ODE from t = 1.

        Parameters
        ----------
        n_samples : int or None
            Number of samples (ignored when ``x_start`` is given).
        x_start : ndarray of shape (n_samples, n_features) or None
            The state at t = 1 (default ``sigma(1) z``, ``z`` standard normal).
            With linear denoisers the whole sampler is linear, so passing the
            identity gives its transfer matrix (rows are the images of the basis).
        random_state : int, RandomState or None
            Overrides the estimator's ``random_state`` for this call.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
        """
        if self.method not in METHODS:
            raise ValueError(f"method={self.method!r}; expected one of {METHODS}")
        path = get_path(self.schedule_path)
        if self.method in ("euler", "heun") and path.name != "linear":
            raise ValueError(f"method={self.method!r} integrates the linear path's ODE; the "
                             f"path is {path.name!r}: use method='ddim'")
        sched = self._schedule()
        table = self._resolve(sched)
        grid = time_grid(self.steps, self.time_spacing, self.t_end)
        if x_start is None:
            if (isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral)
                    or n_samples < 1):
                raise ValueError(f"n_samples={n_samples!r} must be an integer >= 1")
            d = self._n_features(table, None)
            rng = check_random_state(self.random_state if random_state is None else random_state)
            x = float(path.sigma(1.0)) * rng.standard_normal((int(n_samples), d))
        else:
            x = np.array(x_start, dtype=np.float64)
            if x.ndim != 2:
                raise ValueError(f"x_start must be 2-D (n_samples, n_features), got {x.shape}")
            d = self._n_features(table, x)
        n = len(x)
        acc = {i: {"n_calls": 0, "flops": 0.0, "wall_s": 0.0} for i in range(len(sched.intervals))}

        def D(y, t):
            i = sched.index_at(float(t))
            den = table[sched.intervals[i][2]]
            if self.count_flops:
                acc[i]["flops"] += denoiser_flops(den, n, float(t), d)
            t0 = time.perf_counter()
            out = np.asarray(den.denoise(y, float(t)), dtype=np.float64)
            acc[i]["wall_s"] += time.perf_counter() - t0
            acc[i]["n_calls"] += 1
            if out.shape != y.shape:
                raise ValueError(f"denoiser {den!r} returned shape {out.shape} for input "
                                 f"{y.shape}")
            return out

        steps = range(len(grid) - 1)
        if self.verbose:
            from tqdm.auto import tqdm

            steps = tqdm(steps, desc=f"sampling ({self.method})")
        t_run = time.perf_counter()
        for k in steps:
            t, s = float(grid[k]), float(grid[k + 1])
            x0 = D(x, t)
            if self.method == "ddim":
                a_t, sg_t = float(path.alpha(t)), float(path.sigma(t))
                eps = (x - a_t * x0) / sg_t
                x = float(path.alpha(s)) * x0 + float(path.sigma(s)) * eps
                continue
            v = (x - x0) / t
            x_new = x + (s - t) * v
            if self.method == "heun" and s > 0:
                v2 = (x_new - D(x_new, s)) / s
                x_new = x + (s - t) * 0.5 * (v + v2)
            x = x_new
        total = time.perf_counter() - t_run
        self.times_ = grid
        self.phases_ = pd.DataFrame([
            {"phase": i, "t_lo": lo, "t_hi": hi, **acc[i]}
            for i, (lo, hi, _) in enumerate(sched.intervals)])
        self.phases_.insert(3, "radius", pd.Series([r for _, _, r in sched.intervals],
                                                   dtype=object))
        tf = float(self.phases_["flops"].sum()) if self.count_flops else float("nan")
        self.stats_ = {"total_flops": tf, "flops_per_sample": tf / n,
                       "denoise_wall_s": float(self.phases_["wall_s"].sum()),
                       "total_wall_s": total, "n_calls": int(self.phases_["n_calls"].sum()),
                       "n_samples": n, "method": self.method, "steps": len(grid) - 1}
        return x

    def phase_summary(self) -> pd.DataFrame:
        """``phases_`` grouped by kind: ``local r=...`` / ``global`` with totals."""
        if not hasattr(self, "phases_"):
            raise AttributeError("call sample() first")
        p = self.phases_.assign(kind=[("global" if r is None else f"local r={int(r)}")
                                      for r in self.phases_["radius"]])
        return p.groupby("kind")[["n_calls", "flops", "wall_s"]].sum().reset_index()
