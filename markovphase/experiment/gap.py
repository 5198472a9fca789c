"""The held-out gap of local denoisers to the global one, and the schedule it implies."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from ..sampling.grids import step_coefficients
from ..schedule import LocalitySchedule, _merge
from ..schedule_scan import smallest_radius_within

__all__ = ["denoiser_gap", "gap_schedule", "budget_schedule", "check_budgets", "GAP_MEASURES",
           "ACCUMULATIONS"]


def denoiser_gap(global_denoiser, local_denoisers: dict, X, times, random_state=0,
                 prior_mean=None, grid=None):
    """Held-out x0-MSE of each local denoiser against the global one, per time.

    Every denoiser sees the same noisy rows ``x_t = alpha x0 + sigma z`` (one
    draw of ``z`` per time, a paired comparison). Returns a DataFrame with
    ``t, r, local_mse, global_mse, gap = local - global`` (data units^2 per
    feature), ``rel_gap = gap / global_mse`` and

    ``rel_explained = gap / (prior_mse - global_mse)``,

    the share of what the global denoiser explains beyond the prior mean
    (``prior_mse = mean |x0 - prior_mean|^2``, the MSE of predicting the mean)
    that the local one misses: ``1 - R2_local / R2_global``. ``rel_gap`` is
    ~0 at high noise for any denoiser (both MSEs approach ``prior_mse``);
    ``rel_explained`` is not, so it sees a local denoiser that misses the
    little (global) information a very noisy sample carries. With the
    sampler's time ``grid`` (:func:`~markovphase.sampling.time_grid`) also

    ``weighted_gap = c(t)^2 gap / prior_mse``,

    the squared error one sampler step with the local denoiser adds to the
    sample beyond the global one's, in units of the data variance (``c`` of
    :func:`~markovphase.sampling.step_coefficients`): the absolute excess, weighted as the sampler
    weights each step -- large near the data, where a step hands most of
    ``x0_hat`` on, small at high noise whatever the ratios say.

    Parameters
    ----------
    global_denoiser, local_denoisers : fitted denoiser, dict {radius: fitted denoiser}
        :class:`~markovphase.denoisers.BaseDenoiser` objects (or
        :class:`~markovphase.denoisers.CenteredDenoiser`); the noise follows
        the global denoiser's forward path ``path_``.
    X : array of shape (n_samples, n_features)
        Clean held-out rows.
    times : sequence of float
    random_state : int
        Seeds the noise (one draw per time, shared by every denoiser).
    prior_mean : array of shape (n_features,) or None
        The prior predictor (e.g. the training mean); ``None`` = the mean of ``X``.
    grid : array or None
        The sampler's decreasing time grid; adds the ``weighted_gap`` column.
    """
    X = np.asarray(X, dtype=np.float64)
    path = global_denoiser.path_
    mu = X.mean(axis=0) if prior_mean is None else np.asarray(prior_mean, dtype=np.float64)
    prior_mse = float(np.mean((X - mu) ** 2))
    rng = np.random.default_rng(random_state)
    coefs = [None] * len(times) if grid is None else step_coefficients(path, grid, times)
    rows = []
    for t, c in zip(times, coefs, strict=True):
        z = rng.standard_normal(X.shape)
        xt = float(path.alpha(t)) * X + float(path.sigma(t)) * z
        g = float(np.mean((global_denoiser.denoise(xt, float(t)) - X) ** 2))
        explained = prior_mse - g
        for r, den in local_denoisers.items():
            m = float(np.mean((den.denoise(xt, float(t)) - X) ** 2))
            rows.append({"t": float(t), "r": int(r), "local_mse": m, "global_mse": g,
                         "prior_mse": prior_mse, "gap": m - g,
                         "rel_gap": (m - g) / g if g > 0 else np.inf,
                         "rel_explained": (m - g) / explained if explained > 0 else np.inf})
            if c is not None:
                rows[-1]["weighted_gap"] = c**2 * (m - g) / prior_mse
    return pd.DataFrame(rows)


GAP_MEASURES = ("rel_gap", "rel_explained", "weighted_gap")


def gap_schedule(gap_table: pd.DataFrame, tolerance: float,
                 measure: str = "rel_gap") -> LocalitySchedule:
    """The schedule of a :func:`denoiser_gap` table at a tolerance on ``measure``.

    At each time of the table, the smallest radius with ``measure <= tolerance``
    (global where none is), between times the more demanding of the two
    neighbours (:meth:`LocalitySchedule.from_radii`, ``"conservative"``).
    ``measure`` is ``"rel_gap"`` (excess MSE over the global MSE),
    ``"rel_explained"`` (excess MSE over what the global denoiser explains
    beyond the mean) or ``"weighted_gap"`` (the absolute excess a sampler step
    passes on, in units of the data variance; local at both ends of the path
    where the local error is small near the data or the step hands little on
    at high noise), see :func:`denoiser_gap`.
    """
    if measure not in GAP_MEASURES:
        raise ValueError(f"gap measure={measure!r}; expected one of {GAP_MEASURES}")
    if measure not in gap_table:
        raise ValueError(f"gap measure={measure!r} is not a column of the gap table; "
                         "'weighted_gap' needs denoiser_gap(..., grid=the sampler's time grid)")
    if not np.isfinite(tolerance) or tolerance < 0:
        raise ValueError(f"gap_tolerance={tolerance!r} must be a finite number >= 0")
    best = smallest_radius_within(gap_table, measure, tolerance)
    tt = best.t.to_numpy()
    return LocalitySchedule.from_radii(
        tt, list(best.radius), allowed_radii=sorted(gap_table.r.unique()),
        metadata={"source": "denoiser gap of the fitted networks", "measure": measure,
                  "tolerance": tolerance, "times": tt.tolist(),
                  measure: {int(r): g.sort_values("t")[measure].round(6).tolist()
                            for r, g in gap_table.groupby("r")}})


ACCUMULATIONS = ("coherent", "independent")


def check_budgets(budgets, accumulate: str = "coherent") -> None:
    """Refuse a ``gap_budget`` that is not a finite number >= 0, or an unknown
    ``accumulate`` (``ValueError``, before any work)."""
    if accumulate not in ACCUMULATIONS:
        raise ValueError(f"accumulate={accumulate!r}; expected one of {ACCUMULATIONS}")
    for budget in budgets:
        if (isinstance(budget, bool) or not isinstance(budget, numbers.Real)
                or not np.isfinite(budget) or budget < 0):
            raise ValueError(f"gap_budget={budget!r} must be a finite number >= 0 "
                             "(data variances)")


def _grid_units(grid, method: str):
    """The schedule intervals of a decreasing sampler ``grid`` and the grid points each
    holds, with the number of denoiser calls at each point.

    Interval ``j`` is ``[t_{j+1}, t_j)`` (the first one closed at ``t_0``), so it holds
    the point ``t_{j+1}`` and, for ``j = 0``, ``t_0`` too; ``heun`` calls the denoiser
    once at ``t_0``, twice at every inner point (the end of one step and the start of
    the next) and never at ``t_steps`` when that is 0; ``euler`` and ``ddim`` once at
    every point but the last.
    """
    n = len(grid) - 1
    calls = np.ones(n + 1)
    calls[n] = 0.0
    if method == "heun":
        calls[1:n] = 2.0
        if grid[n] > 0:
            calls[n] = 1.0
    units = [[0, 1]] + [[j + 1] for j in range(1, n)]
    return units, calls


_BUDGET_PARTS = 10_000


def _least_cost(cost, err, limit: float, parts: int = _BUDGET_PARTS) -> np.ndarray:
    """The option per row minimising ``sum cost[u, o_u]`` with ``sum err[u, o_u] <= limit``
    (a multiple-choice knapsack; ``err`` rounded up to ``limit / parts``). Row ``u``'s
    column 0 must have ``err == 0`` (always feasible)."""
    if limit > 0:
        w = np.ceil(err / (limit / parts) - 1e-9).astype(np.int64)
    else:
        w = np.where(err == 0, 0, parts + 1)
    n_units, n_opts = cost.shape
    best = np.zeros(parts + 1)  # least cost of the rows so far within b parts
    choice = np.zeros((n_units, parts + 1), dtype=np.int64)
    for u in range(n_units):
        new = np.full(parts + 1, np.inf)
        for o in range(n_opts):
            k = int(w[u, o])
            if k > parts:
                continue
            cand = np.full(parts + 1, np.inf)
            cand[k:] = best[:parts + 1 - k] + cost[u, o]
            better = cand < new  # ties keep the earlier option (the global one first)
            new[better], choice[u, better] = cand[better], o
        best = new
    pick, b = np.zeros(n_units, dtype=np.int64), parts
    for u in reversed(range(n_units)):
        pick[u] = choice[u, b]
        b -= int(w[u, pick[u]])
    return pick


def budget_schedule(gap_table: pd.DataFrame, budget: float, grid, path, costs: dict,
                    method: str = "heun", accumulate: str = "coherent") -> LocalitySchedule:
    """The cheapest schedule on the sampler's ``grid`` whose total excess is within ``budget``.

    :func:`gap_schedule` bounds the excess of each step on its own, so a path of
    ``n`` local steps may hand on ``n`` times the tolerance. Here the bound is on
    the whole trajectory. To first order, an error ``delta_j`` of ``x0_hat`` at
    grid point ``t_j`` moves the sample by ``c_j delta_j``
    (:func:`~markovphase.sampling.step_coefficients`), so the root-mean-square
    excess the local denoisers add to the sample, in units of the data standard
    deviation, is at most

        E = sum_j c_j sqrt(g_j(r_j))          (``accumulate="coherent"``),

    the triangle inequality: the errors of neighbouring steps of one network are
    alike and add. ``g_j(r) = gap / prior_mse`` is the relative excess x0-MSE of
    radius ``r`` (linear in ``t`` between the table's times, the end values
    beyond them; 0 for the global denoiser). ``accumulate="independent"`` sums
    squares instead, ``E^2 = sum_j c_j^2 g_j(r_j)``, the sum of the per-step
    ``weighted_gap`` (the optimistic limit of uncorrelated errors). The schedule
    minimises the FLOPs ``sum_j calls_j costs[r_j]`` subject to ``E^2 <= budget``
    (data variances; for one step this is ``weighted_gap <= budget``), by dynamic
    programming over the budget cut into ``_BUDGET_PARTS`` parts: each interval's
    share is rounded up to whole parts, so the bound holds exactly and the cost is
    the least among the schedules whose rounded shares fit.

    Parameters
    ----------
    gap_table : DataFrame
        :func:`denoiser_gap`'s table (``t, r, gap, prior_mse``).
    budget : float
        Largest ``E^2``, in units of the data variance (>= 0).
    grid : array
        The sampler's decreasing time grid (:func:`~markovphase.sampling.time_grid`).
    path : forward path
        The denoisers' ``path_`` (for the step coefficients).
    costs : dict
        FLOPs of one call per radius (a number, or a function of ``t`` where the
        cost depends on the time), relative or absolute, with the key ``None``
        for the global denoiser; radii of the table without a cost are not used.
    method : {"heun", "euler", "ddim"}
        The sampler's method (how many calls each grid point gets).
    accumulate : {"coherent", "independent"}

    Returns
    -------
    LocalitySchedule
        Intervals between the grid points; ``metadata`` holds the budget, ``E^2``
        and the cost of the schedule relative to all-global.
    """
    check_budgets((budget,), accumulate)
    if None not in costs:
        raise ValueError("costs needs the cost of the global denoiser under the key None")
    grid = np.asarray(grid, dtype=float)
    if grid.ndim != 1 or len(grid) < 2 or np.any(np.diff(grid) >= 0):
        raise ValueError(f"grid must be a decreasing 1-D array of >= 2 times, got {grid!r}")
    radii = sorted(int(r) for r in gap_table.r.unique() if int(r) in costs)
    units, calls = _grid_units(grid, method)
    c = step_coefficients(path, grid, grid) * (calls > 0)  # a point never called adds none
    options = [None, *radii]
    per_call = np.array([[0.0 if not n else float(costs[o](t)) if callable(costs[o])
                          else float(costs[o]) for o in options]
                         for t, n in zip(grid, calls, strict=True)])  # FLOPs of one call
    cost = np.array([(calls[u, None] * per_call[u]).sum(axis=0) for u in units])
    rel = np.zeros((len(grid), len(options)))  # g_j(r) at the grid points
    for k, r in enumerate(radii, start=1):
        tab = gap_table[gap_table.r == r].sort_values("t")
        g = np.interp(grid, tab.t.to_numpy(), (tab.gap / tab.prior_mse).to_numpy())
        rel[:, k] = np.maximum(g, 0.0)
    per_point = c[:, None] * np.sqrt(rel) if accumulate == "coherent" else c[:, None]**2 * rel
    err = np.array([per_point[u].sum(axis=0) for u in units])
    limit = np.sqrt(budget) if accumulate == "coherent" else float(budget)

    pick = _least_cost(cost, err, limit)
    for u in range(1, len(units)):  # an interval without calls: as its neighbour
        if calls[units[u]].sum() == 0:
            pick[u] = pick[u - 1]
    # interval j = [t_{j+1}, t_j), increasing in t; the lowest one reaches down to 0
    rows = [(float(grid[j + 1]) if j < len(pick) - 1 else 0.0, float(grid[j]), options[o])
            for j, o in reversed(list(enumerate(pick)))]
    e = err[np.arange(len(units)), pick].sum()
    return LocalitySchedule(
        _merge(rows), allowed_radii=radii,
        metadata={"source": "denoiser gap of the fitted networks, budget over the sampler grid",
                  "budget": float(budget), "accumulate": accumulate, "method": method,
                  "excess": float(e**2 if accumulate == "coherent" else e),
                  "cost_vs_all_global": float(cost[np.arange(len(units)), pick].sum()
                                              / cost[:, 0].sum()),
                  "grid": grid.round(8).tolist()})
