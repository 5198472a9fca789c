"""Locality radii from a fitted :class:`~markovphase.scan.PhaseScan`: the criteria of
:meth:`LocalitySchedule.from_scan <markovphase.schedule.LocalitySchedule.from_scan>`.

* ``"cmi"`` -- the probe value itself (CMI ``I(A;C|B(r))`` in nats, or a
  denoiser probe's excess loss) is within the tolerance;
* ``"weighted"`` -- the excess x0-error a sampler step with the local
  denoiser passes on, in units of the data variance (:func:`sampling_excess`):
  the CMI of the noised site turned into the clean site's excess MSE and
  weighted by the step of the sampler's time grid. A tiny CMI at high noise
  can still be a large x0 error there (the noise dominates the noised site's
  variance), and a small one near the data is handed on almost whole by the
  last steps.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

__all__ = ["SCHEDULE_CRITERIA", "smallest_radius_within", "sampling_excess", "scan_radii"]

#: What a scan-derived schedule's tolerance bounds (see the module docs).
SCHEDULE_CRITERIA = ("cmi", "weighted")


def smallest_radius_within(table: pd.DataFrame, column: str, tolerance: float) -> pd.DataFrame:
    """Per ``t`` of ``table`` (columns ``t``, ``r``, ``column``), the smallest ``r`` whose
    ``column`` is ``<= tolerance``: a DataFrame ``t, radius`` (NaN where none is)."""
    ok = table[table[column] <= tolerance].groupby("t").r.min()
    times = np.sort(table.t.unique())
    return pd.DataFrame({"t": times, "radius": ok.reindex(times).to_numpy(float)})


def check_criterion(criterion) -> str:
    if criterion not in SCHEDULE_CRITERIA:
        raise ValueError(f"criterion={criterion!r}; expected one of {SCHEDULE_CRITERIA}")
    return criterion


def scan_radii(scan, tolerance: float, criterion: str = "cmi", grid=None,
               window_global: bool = False) -> pd.DataFrame:
    """Per scanned time, the smallest radius within ``tolerance`` on ``criterion``.

    ``"cmi"`` is :meth:`PhaseScan.locality_radii`; ``"weighted"`` bounds the
    ``weighted`` column of :func:`sampling_excess` (``grid``: the sampler's
    time grid). With ``window_global`` the times inside the scan's transition
    window are global (NaN) too: the Markov length is large there even where a
    noisy estimate dips below the tolerance. Returns a DataFrame ``t, radius``.
    """
    if not isinstance(tolerance, numbers.Real) or not tolerance >= 0:
        raise ValueError(f"tolerance={tolerance!r} must be a number >= 0")
    if check_criterion(criterion) == "cmi":
        table = scan.locality_radii(float(tolerance))
    else:
        table = smallest_radius_within(sampling_excess(scan, grid), "weighted", float(tolerance))
    window = getattr(scan, "transition_window_", None)
    if window_global and window is not None:
        inside = (table["t"] >= window[0]) & (table["t"] <= window[1])
        table.loc[inside, "radius"] = np.nan
    return table


def sampling_excess(scan, grid=None, n_stderr: float = 2.0):
    """Per scanned (t, r), the excess x0-error a sampler step with the local denoiser passes on.

    For Gaussian data the CMI of the noised site ``I = I(x_A; x_C | x_B)`` at
    ``x_t = alpha x_0 + sigma z`` fixes how much worse the clean site is
    predicted from the window ``A u B`` than from everything: with ``u`` the
    variance of ``x0_A`` given the noised ``B u C`` (without ``A``),
    ``e^{2I} = (alpha^2 u_B + sigma^2) / (alpha^2 u_BC + sigma^2)``, and the posterior
    variances ``v`` of ``x0_A`` given ``A u B`` and given all sites differ by

        v_B - v_BC = sigma^4 / alpha^2 (1 - e^{-2I}) / (alpha^2 u_BC + sigma^2)
                  <= (1 - e^{-2I}) sigma^2 / alpha^2,

    the bound being tight at high noise (``sigma^2 >> alpha^2 u_BC``). That
    difference is the excess x0-MSE of the exact local denoiser over the exact
    global one. ``excess`` is the bound over the data variance
    (``scan.feature_variance_``; 0 at ``alpha = 0``, where every denoiser
    returns the mean), and

        weighted = c(t)^2 * excess,

    ``c`` the share of an ``x0_hat`` error one step of ``grid`` hands on
    (:func:`~markovphase.sampling.step_coefficients`; default grid: 20
    uniform steps). The CMI is taken at its upper bound ``value + n_stderr *
    stderr`` (0 where that is negative): at high noise ``sigma^2 / alpha^2`` is
    large, so a CMI below the estimator's noise floor may still be a large
    excess, and only its bound says it is not. Returns a DataFrame with
    ``t, r, value, stderr, excess, coefficient, weighted``. Needs a CMI scan (the
    ``markov`` probe).
    """
    from .sampling.grids import step_coefficients, time_grid

    if getattr(scan, "probe_name_", None) != "markov":
        raise ValueError(f"the weighted criterion needs a CMI scan (probe 'markov'); this scan's "
                         f"probe is {getattr(scan, 'probe_name_', None)!r}")
    grid = time_grid(20) if grid is None else np.asarray(grid, dtype=float)
    if not isinstance(n_stderr, numbers.Real) or not n_stderr >= 0:
        raise ValueError(f"n_stderr={n_stderr!r} must be a number >= 0")
    res = scan.results_[["t", "r", "value", "stderr"]].dropna(subset=["r"]).copy()
    path, v0 = scan.path_, float(scan.feature_variance_)
    alpha = np.array([float(path.alpha(t)) for t in res.t])
    sigma = np.array([float(path.sigma(t)) for t in res.t])
    cmi = np.clip(res.value.to_numpy(float) + n_stderr * np.nan_to_num(
        res.stderr.to_numpy(float)), 0.0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        excess = np.where(alpha > 0, -np.expm1(-2 * cmi) * sigma**2 / alpha**2, 0.0) / v0
    coef = step_coefficients(path, grid, res.t.to_numpy(float))
    return res.assign(excess=excess, coefficient=coef, weighted=coef**2 * excess)
