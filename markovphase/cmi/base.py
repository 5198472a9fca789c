"""Base class and result type of conditional-mutual-information estimators.

The estimator contract (what a probe may ask of an estimator):

* ``estimate(A, C, B)`` / ``evaluate(A, C, B)`` -- I(A;C|B) in nats (with a
  standard error and, where ``has_pointwise``, per-sample terms);
* ``evaluate_regions(X, regions, lattice)`` -- many region triples of one
  sample matrix (estimators override it to share work);
* ``evaluate_path(X0, noise, path, times, regions, lattice)`` -- optional: every
  time of a forward path in one run (e.g. one t-conditioned network);
  :meth:`CMIEstimator.supports_path` says whether the estimator has it;
  ``iter_path`` (same arguments) yields ``(t, results)`` as each time is
  finished (default: the items of ``evaluate_path``), so a scan can cache
  every time as it arrives.

Inputs are checked by :func:`as_2d`: finite, and no larger than
:data:`MAX_ABS` in absolute value (squares of larger values overflow float64
in covariances and distances).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np
from sklearn.base import BaseEstimator

from ..lattice import Lattice, Regions


def _as_index(ix) -> np.ndarray:
    return np.asarray(ix, dtype=np.intp).ravel()


def check_regions(regions, n_features: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Validate region triples: ``Regions(A, B, C)`` or ``(A, B, C)`` index arrays within
    ``[0, n_features)``, A and C non-empty, the three disjoint. Returns ``(A, B, C)`` tuples."""
    out = []
    for k, r in enumerate(regions):
        if isinstance(r, Regions):
            A, B, C = r.A, r.B, r.C
        else:
            try:
                A, B, C = r
            except (TypeError, ValueError):
                raise ValueError(
                    f"regions[{k}] must be a Regions(A, B, C) or an (A, B, C) triple of "
                    "index arrays"
                ) from None
        A, B, C = _as_index(A), _as_index(B), _as_index(C)
        for name, ix in (("A", A), ("B", B), ("C", C)):
            if ix.size and (ix.min() < 0 or ix.max() >= n_features):
                raise ValueError(f"regions[{k}].{name} has indices outside [0, {n_features})")
        if A.size == 0 or C.size == 0:
            raise ValueError(
                f"regions[{k}]: A and C must be non-empty (got |A|={A.size}, |C|={C.size})"
            )
        if len(np.intersect1d(A, B)) or len(np.intersect1d(A, C)) or len(np.intersect1d(B, C)):
            raise ValueError(f"regions[{k}]: A, B and C must be disjoint")
        out.append((A, B, C))
    return out


class CMIResult(NamedTuple):
    """One estimate of I(A;C|B) in nats.

    Attributes
    ----------
    value : float
        The estimate (may be slightly negative for bias-corrected estimators;
        it is never clipped).
    stderr : float
        Its standard error (``nan`` where the estimator cannot give one).
    pointwise : ndarray of shape (n_samples,) or None
        Per-sample terms whose mean is ``value`` (up to a constant bias
        correction), where the estimator has them.
    n_samples : int
        Samples used.
    """

    value: float
    stderr: float
    pointwise: np.ndarray | None = None
    n_samples: int = 0


def result_from_terms(terms: np.ndarray, n_samples: int | None = None) -> CMIResult:
    """A :class:`CMIResult` from per-sample terms: their mean and ``std / sqrt(n)``."""
    d = np.asarray(terms, dtype=float)
    return CMIResult(float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d))), d,
                     len(d) if n_samples is None else n_samples)


#: largest absolute value accepted: squares and sums of squares of n <= 1e100 rows stay finite
MAX_ABS = 1e100


def check_scale(a: np.ndarray, name: str) -> None:
    """Refuse values whose squares overflow float64 (``|a| > MAX_ABS``).

    I(A;C|B) does not depend on the scale of the variables, but covariances
    and sums of squares of values near 1e154 and above overflow to inf and
    would silently give 0 or NaN; such data must be rescaled first.
    """
    top = float(np.max(np.abs(a))) if a.size else 0.0
    if top > MAX_ABS:
        raise ValueError(f"{name} has values up to {top:.3g} in absolute value; expected at most "
                         f"{MAX_ABS:g} (their squares overflow float64): divide {name} by its "
                         "standard deviation first (CMI does not depend on the scale)")


def as_2d(arr, name: str) -> np.ndarray:
    """``arr`` as a finite float64 2-D array (a 1-D array becomes one column), with
    values no larger than :data:`MAX_ABS` in absolute value (:func:`check_scale`)."""
    a = np.asarray(arr, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{name} must be 1-D or 2-D (rows are samples), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        bad = int(np.count_nonzero(~np.isfinite(a)))
        raise ValueError(f"{name} contains {bad} NaN or inf value(s); expected finite numbers")
    check_scale(a, name)
    return a


def check_triple(A, C, B=None, *, min_samples: int = 2, allow_constant: bool = False):
    """Validate the regions of I(A;C|B): 2-D, finite, equal rows, A and C non-empty.

    Returns ``(A, C, B)`` as float64 arrays; an absent ``B`` becomes an
    ``(n, 0)`` array.
    """
    A, C = as_2d(A, "A"), as_2d(C, "C")
    B = np.empty((A.shape[0], 0)) if B is None else as_2d(B, "B")
    for name, arr in (("A", A), ("C", C)):
        if arr.shape[1] == 0:
            raise ValueError(
                f"{name} is empty (0 columns): I(A;C|B) needs at least one {name} variable"
            )
    n = {A.shape[0], B.shape[0], C.shape[0]}
    if len(n) != 1:
        raise ValueError(
            f"A, C and B must have the same number of samples (rows), got "
            f"A: {A.shape[0]}, C: {C.shape[0]}, B: {B.shape[0]}"
        )
    if A.shape[0] < min_samples:
        raise ValueError(f"got {A.shape[0]} samples; this estimator needs at least {min_samples}")
    if not allow_constant:
        for name, arr in (("A", A), ("C", C), ("B", B)):
            const = np.flatnonzero(np.ptp(arr, axis=0) == 0) if arr.shape[1] else []
            if len(const):
                raise ValueError(
                    f"{name} has constant column(s) {list(const[:10])}: a constant variable "
                    "carries no information and makes the estimate undefined; drop it"
                )
    return A, C, B


class CMIEstimator(BaseEstimator):
    """Base of CMI estimators: scikit-learn parameters, ``estimate(A, C, B)`` in nats.

    Subclasses store parameters in ``__init__`` (scikit-learn rules) and
    implement :meth:`_evaluate`; they may override :meth:`evaluate_regions` to
    share work across many region triples of the same data.
    """

    #: whether :meth:`evaluate` returns per-sample terms
    has_pointwise: bool = False
    #: smallest number of samples the estimator accepts
    min_samples: int = 2

    def _evaluate(self, A: np.ndarray, C: np.ndarray, B: np.ndarray) -> CMIResult:
        raise NotImplementedError

    def _check(self, A, C, B):
        return check_triple(A, C, B, min_samples=self.min_samples)

    def evaluate(self, A, C, B=None) -> CMIResult:
        """I(A;C|B) with its standard error (and per-sample terms where available).

        Parameters
        ----------
        A, C : array-like of shape (n_samples, d_A) / (n_samples, d_C)
            The two sides; a 1-D array is one variable.
        B : array-like of shape (n_samples, d_B) or None
            The conditioning set; ``None`` or zero columns gives I(A;C).
        """
        return self._evaluate(*self._check(A, C, B))

    def estimate(self, A, C, B=None) -> float:
        """I(A;C|B) in nats; see :meth:`evaluate` for the standard error."""
        return float(self.evaluate(A, C, B).value)

    def mutual_information(self, A, C) -> float:
        """I(A;C) in nats."""
        return self.estimate(A, C, None)

    def evaluate_regions(
        self, X: np.ndarray, regions: Sequence[Regions], lattice: Lattice | None = None
    ) -> list[CMIResult]:
        """I(A;C|B) for many feature-index triples of the same samples ``X``.

        ``regions[i]`` is ``(A, B, C)`` (column indices, :class:`Regions`);
        ``lattice`` (when the caller knows it) lets estimators use the
        geometry. The default evaluates each triple; estimators override it
        to batch.
        """
        X = as_2d(X, "X")
        return [self.evaluate(X[:, r.A], X[:, r.C], X[:, r.B]) for r in regions]

    def evaluate_path(self, X0, noise, path, times, regions: Sequence[Regions],
                      lattice: Lattice | None = None) -> dict[float, list[CMIResult]]:
        """I(A;C|B) at every ``t`` in ``times`` for ``x_t = path.noise(X0, t, noise)``.

        Optional: an estimator that can serve a whole path in one run (one
        time-conditioned model) overrides it; :meth:`supports_path` is then
        true and :class:`~markovphase.MarkovProbe` (and so a scan) uses it.
        Returns ``{t: [CMIResult per region]}``.
        """
        raise NotImplementedError(f"{type(self).__name__} has no path mode: estimate each time "
                                  "with evaluate_regions")

    def iter_path(self, X0, noise, path, times, regions: Sequence[Regions],
                  lattice: Lattice | None = None) -> Iterator[tuple[float, list[CMIResult]]]:
        """Yield ``(t, [CMIResult per region])`` for every ``t`` in ``times`` as it is finished.

        Optional, like :meth:`evaluate_path` (same arguments). Default: the
        results of :meth:`evaluate_path` in the order of ``times`` (all at the
        end); an estimator whose times finish one by one overrides it so that
        a scan can cache each time as it arrives.
        """
        res = self.evaluate_path(X0, noise, path, times, regions, lattice)
        for t in times:
            yield float(t), res[float(t)]

    def supports_path(self) -> bool:
        """Whether :meth:`evaluate_path` (or :meth:`iter_path`) is implemented (one run
        serves every time)."""
        cls = type(self)
        return (cls.evaluate_path is not CMIEstimator.evaluate_path
                or cls.iter_path is not CMIEstimator.iter_path)
