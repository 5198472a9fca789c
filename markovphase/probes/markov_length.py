"""The Markov length: fit ``I(r) ~ gamma exp(-r / xi)`` to a probe's values against r.

:func:`fit_markov_length` fits the CMI (or any decaying locality measure) of
a cell; :func:`markov_length_from_rows` applies it to the ``results_`` rows of
a probe (the default Markov-length record of a :class:`~markovphase.probes.Probe`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["fit_markov_length", "markov_length_from_rows", "RECORD_KEYS"]

#: what a Markov-length record holds (a scan's ``markov_length_`` columns)
RECORD_KEYS = ("xi", "xi_low", "xi_high", "status")


def fit_markov_length(radii, values, stderrs, floor: float = 2.0) -> dict:
    """Fit ``I(r) ~ gamma * exp(-r / xi)`` by weighted least squares on log I.

    Only radii whose estimate is *resolved* — ``value > floor * stderr`` and
    ``value > 0`` — enter the fit; the rest are at or below the noise floor
    and are consistent with 0. Weights are ``(value / stderr)^2``, the inverse
    delta-method variance of ``log value``. The 95 % interval maps the slope's
    interval through ``xi = -1 / slope`` (``inf`` where the slope may be >= 0).

    Returns a dict with ``xi``, ``xi_low``, ``xi_high``, ``gamma``, ``n_used``
    and ``status``: ``"fit"`` (two or more resolved radii), ``"upper-bound"``
    (only the smallest radius resolved: xi is bounded by the decay from that
    value to the noise floor of the next radius), ``"below-noise-floor"`` (no
    radius resolved: xi = 0 within resolution), ``"not-decaying"`` (slope >= 0:
    xi = inf), ``"not-estimable"`` (no finite value: xi = nan).
    """
    r = np.asarray(radii, float)
    v = np.asarray(values, float)
    se = np.asarray(stderrs, float)
    se = np.where(np.isfinite(se) & (se > 0), se, np.nan)
    ok = np.isfinite(v) & (v > 0) & ~(v <= floor * np.nan_to_num(se, nan=0.0))
    out = {"xi": np.nan, "xi_low": np.nan, "xi_high": np.nan, "gamma": np.nan,
           "n_used": int(ok.sum()), "status": ""}
    if not np.isfinite(v).any():
        out["status"] = "not-estimable"
        return out
    if ok.sum() == 0:
        out.update(xi=0.0, xi_low=0.0, xi_high=0.0, status="below-noise-floor")
        return out
    if ok.sum() == 1:
        i = int(np.flatnonzero(ok)[0])
        nxt = i + 1
        if nxt < len(r) and np.isfinite(se[nxt]) and floor * se[nxt] < v[i]:
            xi = (r[nxt] - r[i]) / np.log(v[i] / (floor * se[nxt]))
            out.update(xi=xi, xi_low=0.0, xi_high=xi, gamma=v[i] * np.exp(r[i] / xi),
                       status="upper-bound")
        else:
            out.update(status="upper-bound" if nxt < len(r) else "single-radius")
        return out
    y = np.log(v[ok])
    w = np.where(np.isfinite(se[ok]), (v[ok] / se[ok]) ** 2, 1.0)
    X = np.column_stack([np.ones(ok.sum()), r[ok]])
    cov = np.linalg.pinv(X.T @ (w[:, None] * X))
    beta = cov @ (X.T @ (w * y))
    dof = ok.sum() - 2
    scale = 1.0
    if dof > 0:  # inflate by the residual scatter when it exceeds the stated errors
        scale = max(1.0, float(np.sum(w * (y - X @ beta) ** 2) / dof))
    s = float(np.sqrt(cov[1, 1] * scale))
    slope = float(beta[1])
    lo, hi = slope - 1.96 * s, slope + 1.96 * s
    out["gamma"] = float(np.exp(beta[0]))
    if slope >= 0:
        out.update(xi=np.inf, xi_low=(-1 / lo) if lo < 0 else np.inf, xi_high=np.inf,
                   status="not-decaying")
        return out
    out.update(xi=-1 / slope, xi_low=-1 / lo, xi_high=(-1 / hi) if hi < 0 else np.inf, status="fit")
    return out


def markov_length_from_rows(rows) -> dict:
    """:func:`fit_markov_length` of the rows that have a radius (``r`` not ``None``).

    ``rows`` are probe result rows (``r``, ``value``, ``stderr``); radius-free
    probes (every ``r`` is ``None``) get an empty record.
    """
    rr = [r for r in rows if r.get("r") is not None]
    if not rr:
        return {}
    return fit_markov_length([r["r"] for r in rr], [r["value"] for r in rr],
                             [r["stderr"] for r in rr])
