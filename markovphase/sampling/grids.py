"""Time grids of the reverse-time sampler: ``1 = t_0 > t_1 > ... > t_steps = t_end``."""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["time_grid", "parse_time_spacing", "step_coefficients", "TIME_SPACINGS"]


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


def parse_time_spacing(value, name: str = "time_spacing"):
    """A time spacing from its text: a name of :data:`TIME_SPACINGS` or a power ``rho >= 1``.

    Returns the name or the float. Raises ``ValueError`` naming ``name`` for
    anything :func:`time_grid` rejects (the command line turns it into a
    usage error).
    """
    spacing = value
    if value not in TIME_SPACINGS:
        try:
            spacing = float(value)
        except (TypeError, ValueError):
            pass
    try:
        time_grid(1, spacing)
    except ValueError:
        raise ValueError(f"{name} {value!r}: expected one of {', '.join(TIME_SPACINGS)} or a "
                         "power >= 1 such as 2.5") from None
    return spacing


def step_coefficients(path, grid, times) -> np.ndarray:
    """How much of an error in ``x0_hat`` at each of ``times`` one sampler step passes on.

    A DDIM step from ``t`` to ``s < t`` (the Euler step on the linear path) is
    ``x_s = alpha(s) x0_hat + sigma(s) (x_t - alpha(t) x0_hat) / sigma(t)``, so an
    error ``delta`` of ``x0_hat`` moves ``x_s`` by ``c delta`` with

        c(t, s) = alpha(s) - sigma(s) alpha(t) / sigma(t)      ((t - s) / t on the linear path).

    ``t`` is placed in the step ``[t_{i+1}, t_i]`` of the decreasing ``grid``
    that holds it and gets ``c(t_i, t_{i+1})``: 1 on the last step (to 0, which
    returns ``x0_hat`` itself), small on the short steps of high noise.
    """
    grid = np.asarray(grid, dtype=float)
    out = []
    for t in np.asarray(times, dtype=float):
        i = int(np.clip(np.searchsorted(-grid, -t, side="right") - 1, 0, len(grid) - 2))
        ti, si = grid[i], grid[i + 1]
        a_t, s_t = float(path.alpha(ti)), float(path.sigma(ti))
        out.append(1.0 if s_t == 0 else float(path.alpha(si)) - float(path.sigma(si)) * a_t / s_t)
    return np.asarray(out)
