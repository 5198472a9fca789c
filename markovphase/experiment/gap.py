"""The held-out gap of local denoisers to the global one, and the schedule it implies."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..sampling.grids import step_coefficients
from ..schedule import LocalitySchedule
from ..schedule_scan import smallest_radius_within

__all__ = ["denoiser_gap", "gap_schedule", "GAP_MEASURES"]


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
