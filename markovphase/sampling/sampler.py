r"""Hybrid reverse-time sampler: local denoisers outside the transition window, a global one inside.

Denoiser protocol
-----------------
The sampler needs one thing of a denoiser: ``denoise(X, t)``, the
posterior-mean estimate ``x0_hat = E[x0 | x_t = X]`` of the clean sample from
rows ``X`` taken as ``x_t`` at time ``t`` (data units). Every denoiser of
:mod:`markovphase.denoisers` (``LocalDenoiser``, ``GlobalDenoiser``,
``LinearLocalDenoiser``, ``PatchPosteriorDenoiser``) has it; an object with
``predict_x0(X, t)`` instead, or a plain callable ``f(X, t)``, is wrapped by
:func:`~markovphase.denoisers.protocol.as_denoiser`. An object may also expose
``flops(n_samples, t)`` to report its own cost
(:mod:`markovphase.denoisers.protocol`).

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
floating-point operations and wall time. Each denoiser counts its own FLOPs
(``flops(n_samples, t)``: the torch FLOP counter for the networks, closed-form
counts for the Wiener filter and the patch posterior; see
:func:`~markovphase.denoisers.protocol.denoiser_flops`). A multiply-add is 2
FLOPs throughout.
"""

from __future__ import annotations

import numbers
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from ..denoisers.protocol import as_denoiser, denoiser_flops
from ..diffusion import DEPRECATED, is_set, resolve_path
from ..params import store_params
from ..schedule import LocalitySchedule
from .grids import time_grid

__all__ = ["HybridSampler", "METHODS"]

METHODS = ("euler", "heun", "ddim")


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
    path : str or DiffusionPath, default="linear"
        The forward path the denoisers were trained on.
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
    schedule_path : str or DiffusionPath, default="deprecated"
        Deprecated spelling of ``path`` (``FutureWarning``; removed in the next release).

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
                 method="heun", path="linear", time_spacing="uniform", t_end=0.0,
                 count_flops=True, random_state=None, verbose=0, schedule_path=DEPRECATED):
        store_params(self, locals())

    # -- validation -------------------------------------------------------------------
    def _path(self):
        if is_set(self.schedule_path):
            warnings.warn("HybridSampler: schedule_path is deprecated and will be removed in the "
                          "next release; use path=", FutureWarning, stacklevel=3)
            return resolve_path(self.schedule_path)
        return resolve_path(self.path)

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
            n = getattr(d, "n_features_in_", None)
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
        path = self._path()
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
