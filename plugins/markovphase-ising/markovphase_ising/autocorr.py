"""Integrated autocorrelation time of Monte Carlo series (Sokal's windowing).

For a stationary series ``a_t`` with normalised autocorrelation
``rho(s) = C(s) / C(0)``, ``C(s) = <(a_t - <a>)(a_{t+s} - <a>)>``, the
integrated autocorrelation time is

    tau_int = 1/2 + sum_{s=1}^{W} rho(s),

in units of the series' own steps (sweeps, or saved samples). With this
convention independent samples have ``tau_int = 1/2`` and the variance of a
mean of ``n`` correlated values is ``2 tau_int Var(a) / n``. The window ``W`` is
the smallest ``W >= c * tau_int(W)`` (Sokal 1997, c = 6), which keeps the bias
``~exp(-c)`` and the variance ``~(2W + 1)/n``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AutocorrTime:
    """Result of :func:`integrated_autocorr_time`.

    Attributes
    ----------
    tau : float
        ``tau_int`` in steps of the series (1/2 for independent samples).
    window : int
        Summation window ``W`` chosen by the rule ``W >= c tau(W)``.
    converged : bool
        False when the series was too short for the rule to stop (then ``tau``
        is a lower bound).
    stderr : float
        Madras–Sokal error ``tau * sqrt(2 (2W + 1) / n_total)``.
    """

    tau: float
    window: int
    converged: bool
    stderr: float


def autocorrelation(series: np.ndarray) -> np.ndarray:
    """Normalised autocorrelation ``rho(s)``, averaged over independent chains.

    Parameters
    ----------
    series : array of shape (n_steps,) or (n_chains, n_steps)
        One row per independent chain of the same stationary process. Deviations
        are taken from the mean over all chains (chains sample one distribution),
        and autocovariances are averaged over chains before normalising.

    Returns
    -------
    rho : array of shape (n_steps,)
        ``rho[0] = 1``; all zeros after ``rho[0]`` for a constant series.
    """
    a = np.atleast_2d(np.asarray(series, dtype=np.float64))
    if a.ndim != 2 or a.shape[1] < 2:
        raise ValueError(f"series must have shape (n_chains, n_steps>=2), got {a.shape}")
    n = a.shape[1]
    d = a - a.mean()
    size = 1 << int(np.ceil(np.log2(2 * n)))
    f = np.fft.rfft(d, n=size, axis=1)
    acov = np.fft.irfft(f * np.conj(f), n=size, axis=1)[:, :n].mean(axis=0)
    acov /= np.arange(n, 0, -1)  # unbiased per lag
    if acov[0] <= 0:
        out = np.zeros(n)
        out[0] = 1.0
        return out
    return acov / acov[0]


def integrated_autocorr_time(series: np.ndarray, c: float = 6.0) -> AutocorrTime:
    """``tau_int = 1/2 + sum_{s=1}^{W} rho(s)`` with Sokal's automatic window.

    Parameters
    ----------
    series : array of shape (n_steps,) or (n_chains, n_steps)
        See :func:`autocorrelation`.
    c : float, default=6.0
        Window factor: the smallest ``W`` with ``W >= c tau_int(W)``.

    Returns
    -------
    AutocorrTime
    """
    rho = autocorrelation(series)
    a = np.atleast_2d(series)
    n_total = a.size
    taus = 0.5 + np.cumsum(rho[1:])  # taus[W-1] = tau_int(W)
    windows = np.arange(1, len(rho))
    ok = windows >= c * taus
    if np.any(ok):
        w = int(windows[np.argmax(ok)])
        converged = True
    else:
        w = int(windows[-1]) if len(windows) else 0
        converged = False
    tau = float(taus[w - 1]) if w > 0 else 0.5
    stderr = abs(tau) * float(np.sqrt(2.0 * (2 * w + 1) / n_total))
    return AutocorrTime(tau=tau, window=w, converged=converged, stderr=stderr)
