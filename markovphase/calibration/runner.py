"""Run any CMI estimator on the calibration cases: estimate vs exact per (case, t, r).

:func:`run_calibration` resolves the estimator once (registered name, class or
instance), draws ``n_samples`` clean rows per case and runs the estimator the
way users do: one :class:`~markovphase.PhaseScan` over the times (which uses
the estimator's one-run path mode when it has one, else a
:class:`~markovphase.MarkovProbe` per time), A = the case's site. A cell
passes when ``|estimate - exact| <= max(0.01, 0.2 |exact|)`` (nats).

Exact values are cached on disk when ``cache_dir`` is given (content-keyed,
one atomic JSON file per time; see :mod:`markovphase.cache`).
"""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from .. import plugins
from ..cache import CellCache, cache_key
from ..diffusion import check_times
from .cases import EXACT_COLUMNS, CalibrationCase

__all__ = ["run_calibration", "exact_table", "default_cases", "tolerance", "RESULT_COLUMNS",
           "ABS_TOL", "REL_TOL"]

ABS_TOL, REL_TOL = 0.01, 0.2
#: bump when the exact computation changes (invalidates cached exact values)
EXACT_VERSION = 1
RESULT_COLUMNS = ["case", "params", "t", "r", "estimate", "stderr", "exact", "exact_stderr",
                  "error", "tolerance", "passed", "seconds"]


def tolerance(exact) -> np.ndarray:
    """The acceptance band ``max(0.01, 0.2 |exact|)`` (nats)."""
    return np.maximum(ABS_TOL, REL_TOL * np.abs(np.asarray(exact, dtype=float)))


def default_cases(random_state=0) -> list[CalibrationCase]:
    """One case per family with default parameters."""
    from . import CASES

    return [cls(random_state=random_state) for cls in CASES.values()]


def _as_cases(cases, random_state) -> list[CalibrationCase]:
    from . import get_case

    if cases is None:
        return default_cases(random_state)
    if isinstance(cases, str | CalibrationCase) or (isinstance(cases, tuple) and len(cases) == 2
                                                    and isinstance(cases[1], dict)):
        cases = [cases]
    out = []
    for c in cases:
        if isinstance(c, tuple):
            name, params = c
            params = {"random_state": random_state, **params}
            out.append(get_case(name, **params))
        elif isinstance(c, str):
            out.append(get_case(c, random_state=random_state))
        else:
            out.append(get_case(c))
    if not out:
        raise ValueError("cases is empty; expected at least one case")
    return out


def _is_exact_cell(payload) -> bool:
    """A cached cell of exact values: ``{"rows": [{column: value, ...}, ...]}``."""
    rows = payload.get("rows") if isinstance(payload, dict) else None
    return bool(rows) and isinstance(rows, list) and all(
        isinstance(r, dict) and set(EXACT_COLUMNS) <= set(r) for r in rows)


def exact_table(case: CalibrationCase, times, radii, path="linear", n_mc: int = 20_000,
                cache_dir=None) -> pd.DataFrame:
    """``case.exact_cmi(...)``, read from / written to ``cache_dir`` when given."""
    times = [float(t) for t in times]
    radii = [int(r) for r in radii]
    path_name = path if isinstance(path, str) else repr(path)
    key_params = {"case": case.name, "params": case.params, "radii": radii, "path": path_name,
                  "n_mc": n_mc, "version": EXACT_VERSION}
    cache = CellCache(cache_dir, cache_key(np.zeros(0), key_params), key_params,
                      validate=_is_exact_cell)
    cells = [cache.load(t) for t in times]
    if all(c is not None for c in cells):
        return pd.DataFrame([row for c in cells for row in c["rows"]], columns=EXACT_COLUMNS)
    table = case.exact_cmi(times, radii, path=path, n_mc=n_mc)
    for t in times:
        cache.save(t, {"rows": table[table.t == t].to_dict("records")})
    return table


def _scan(est, case, X0, times, radii, path, seed):
    from ..scan import PhaseScan

    scan = PhaseScan(lattice_shape=case.lattice_shape, times=list(times), radii=list(radii),
                     cmi=est, sites=[case.site], path=path, random_state=seed)
    res = scan.fit(X0).results_
    return res[["t", "r", "value", "stderr"]].rename(columns={"value": "estimate"})


def run_calibration(cmi, cases=None, times=(0.1, 0.3, 0.5, 0.7), radii=range(1, 7),
                    n_samples: int = 10_000, n_mc: int = 20_000, path="linear",
                    random_state=0, cache_dir=None, verbose: int = 0) -> pd.DataFrame:
    """Calibrate an estimator against exact CMI on every case.

    Parameters
    ----------
    cmi : str, class or CMIEstimator
        A registered name (``"gaussian"``, ``"mixture"``, a plugin's), a class
        or an instance; resolved once.
    cases : case, list of cases or None, default=None
        Names (defaults), ``(name, params)`` pairs or
        :class:`~markovphase.calibration.CalibrationCase` instances; ``None`` is
        one case per family (:func:`default_cases`).
    times : sequence of float, default=(0.1, 0.3, 0.5, 0.7)
    radii : sequence of int, default=1..6
    n_samples : int, default=10000
        Clean rows given to the estimator per case.
    n_mc : int, default=20000
        Monte Carlo rows of the exact values.
    path : str, default="linear"
        Forward path.
    random_state : int, default=0
        Seeds the cases named without a seed, the clean rows and the scan.
    cache_dir : path or None
        Where exact values are cached.
    verbose : int, default=0
        1 shows a progress bar over cases and one line per finished case.

    Returns
    -------
    pandas.DataFrame
        Columns ``case, params, t, r, estimate, stderr, exact, exact_stderr,
        error (= estimate - exact), tolerance, passed, seconds`` (the
        estimator's wall time on that case), one row per (case, t, r).
    """
    est = plugins.resolve("cmi", cmi)
    if not hasattr(est, "evaluate_regions"):
        raise TypeError(f"cmi={cmi!r} is not a CMI estimator (needs evaluate_regions)")
    if isinstance(n_samples, bool) or not isinstance(n_samples, int | np.integer) \
            or n_samples < 20:
        raise ValueError(f"n_samples={n_samples!r} must be an integer >= 20")
    if isinstance(n_mc, bool) or not isinstance(n_mc, int | np.integer) or n_mc < 2:
        raise ValueError(f"n_mc={n_mc!r} must be an integer >= 2 (Monte Carlo rows)")
    times = check_times(times, "times").tolist()
    rng = check_random_state(random_state)
    from tqdm.auto import tqdm

    tables = []
    for case in tqdm(_as_cases(cases, random_state), desc="calibration", unit="case",
                     disable=not verbose):
        radii_c = case.check_radii(radii)
        exact = exact_table(case, times, radii_c, path, n_mc, cache_dir)
        X0 = case.sample_clean(n_samples, random_state=int(rng.randint(2**31)))
        t0 = time.perf_counter()
        got = _scan(est, case, X0, times, radii_c, path, int(rng.randint(2**31)))
        seconds = time.perf_counter() - t0
        tab = exact.merge(got, on=["t", "r"], how="left")
        tab.insert(0, "params", json.dumps({k: v for k, v in case.params.items()}))
        tab.insert(0, "case", case.name)
        tab["error"] = tab["estimate"] - tab["exact"]
        tab["tolerance"] = tolerance(tab["exact"])
        tab["passed"] = np.abs(tab["error"]) <= tab["tolerance"]
        tab["seconds"] = seconds
        tables.append(tab[RESULT_COLUMNS])
        if verbose:
            tqdm.write(f"{case.label}: {int(tab.passed.sum())}/{len(tab)} cells within "
                       f"max({ABS_TOL}, {REL_TOL:.0%}), estimator {seconds:.1f} s")
    return pd.concat(tables, ignore_index=True)
