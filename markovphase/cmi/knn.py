"""Frenzel–Pompe k-nearest-neighbour CMI (KSG type, max-norm).

.. math::

    \\hat I(A;C|B) = \\psi(k) - \\big\\langle \\psi(n_{AB}+1) + \\psi(n_{BC}+1)
                     - \\psi(n_B+1) \\big\\rangle

(Frenzel & Pompe 2007). For every sample ``i``, ``ε_i`` is the max-norm
distance to its k-th nearest neighbour in the joint space (A, B, C); ``n_X``
counts the *other* samples strictly closer than ``ε_i`` in the subspace X
(max-norm over X's coordinates; the sample itself is never counted, hence
the ``+1``). With B empty ``n_B = n − 1`` and the estimate is KSG estimator 1
(Kraskov, Stögbauer & Grassberger 2004):
``ψ(k) + ψ(n) − ⟨ψ(n_A+1) + ψ(n_C+1)⟩``.

Conventions of the reference tools (all three compute the same ``ε_i`` as the
(k+1)-th distance of a search that includes the sample itself):

* tigramite ``CMIknn``: counts points at distance ``≤ f·ε_i`` *including*
  the sample (``ψ(k_X)`` with ``k_X = n_X + 1``), ``f = 0.999999999`` in
  tigramite 5.2 (``0.99999`` in older releases) — identical to this
  estimator with ``radius_factor=f``, and to the default strict ``< ε_i``
  unless a point falls in the relative shell ``[f·ε_i, ε_i)``;
* NPEET ``cmi``: counts ``≤ ε_i − 1e-15`` including the sample — identical
  to the default strict ``< ε_i`` unless distances are within 1e-15 of
  each other;
* both add a tie-breaking jitter (tigramite ``1e-6·std·U(0,1)``, NPEET
  ``1e-10·U(0,1)``, not on the conditioning variables).

Digamma of the integer counts comes from a table ``ψ(0..n)``.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
from scipy.special import digamma
from sklearn.utils import check_random_state

from ..device import resolve_device
from ..lattice import Lattice, Regions
from ..params import store_params
from .base import CMIEstimator, CMIResult, as_2d, check_regions, check_triple

__all__ = ["KNNCMI", "frenzel_pompe_counts"]

_ALGORITHMS = ("auto", "brute", "kd_tree", "torch")


def _kern():
    """The numba kernels, imported on first use (numba is slow to import)."""
    from . import knn_kernels

    return knn_kernels


def _knn_device(device) -> str:
    """The torch device of the searches as a string: CPU or CUDA only."""
    dev = resolve_device(device)
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device={device!r} must be 'auto', 'cpu' or 'cuda[:i]'")
    return str(dev)


def _n_threads(n_jobs) -> int:
    import os

    if n_jobs is None:
        return 1
    n_jobs = int(n_jobs)
    if n_jobs == 0:
        raise ValueError("n_jobs=0 is not allowed; expected None, a positive int or -1 (all cores)")
    cpus = os.cpu_count() or 1
    return cpus if n_jobs < 0 else min(n_jobs, cpus)


# ---------------------------------------------------------------------------
# neighbour searches: eps (k-th neighbour distance) and subspace counts
# ---------------------------------------------------------------------------
def _eps_tree(X, k, n_threads):
    from scipy.spatial import cKDTree

    return cKDTree(X).query(X, k=[k + 1], p=np.inf, workers=n_threads)[0][:, 0]


def _counts_tree(X, r, cols, n_threads):
    """Other points strictly within ``r`` in the columns ``cols`` (sklearn KDTree)."""
    from sklearn.neighbors import KDTree

    if len(cols) == 0:
        return np.full(X.shape[0], X.shape[0] - 1, dtype=np.int64)
    Y = np.ascontiguousarray(X[:, cols])
    # query_radius counts distance <= radius, the sample included: the largest
    # float below r makes it strict, and -1 removes the sample itself
    rr = np.nextafter(r, 0.0)
    tree = KDTree(Y, metric="chebyshev")
    if n_threads > 1 and len(Y) > 2000:
        from joblib import Parallel, delayed

        chunks = np.array_split(np.arange(len(Y)), n_threads * 4)
        parts = Parallel(n_jobs=n_threads, prefer="threads")(
            delayed(tree.query_radius)(Y[c], rr[c], count_only=True) for c in chunks
        )
        cnt = np.concatenate(parts)
    else:
        cnt = tree.query_radius(Y, rr, count_only=True)
    # r == 0 (more than k exact duplicates): nothing is strictly closer than 0
    return np.where(r > 0, cnt.astype(np.int64) - 1, 0)


def _torch_search(X, groups, k, radius_factor, device, eps=None, block=None):
    """Brute force on ``device``: eps and the counts ``(n_B, n_AB, n_BC)`` (or n_A, n_C)."""
    import torch

    Xt = torch.as_tensor(X, dtype=torch.float64, device=device)
    n = Xt.shape[0]
    idx = [torch.as_tensor(np.asarray(g, dtype=np.int64), device=device) for g in groups]
    if block is None:
        block = max(1, min(n, int(2.5e7 // max(n, 1))))
    eps_out = torch.empty(n, dtype=torch.float64, device=device)
    counts = [torch.empty(n, dtype=torch.int64, device=device) for _ in range(3)]
    A, B, C = idx
    for s in range(0, n, block):
        e = min(n, s + block)
        rows = torch.arange(s, e, device=device)

        def cd(ix, rows=rows, s=s, e=e):
            if ix.numel() == 0:
                return torch.zeros((e - s, n), dtype=torch.float64, device=device)
            return torch.cdist(Xt[s:e][:, ix], Xt[:, ix], p=float("inf"))

        dA, dB, dC = cd(A), cd(B), cd(C)
        dAB = torch.maximum(dA, dB)
        dBC = torch.maximum(dB, dC)
        if eps is None:
            joint = torch.maximum(dAB, dC)
            joint[torch.arange(e - s, device=device), rows] = float("inf")
            ek = torch.kthvalue(joint, k, dim=1).values
        else:
            ek = torch.as_tensor(eps[s:e], device=device)
        eps_out[s:e] = ek
        r = ek * radius_factor
        if radius_factor != 1.0:
            r = torch.nextafter(r, torch.full_like(r, float("inf")))
        r = r[:, None]
        for slot, d in enumerate((dB, dAB, dBC) if B.numel() else (dB, dA, dC)):
            # the sample itself (distance 0) is inside every positive radius
            counts[slot][s:e] = (d < r).sum(dim=1) - (r[:, 0] > 0).to(torch.int64)
    return eps_out.cpu().numpy(), [c.cpu().numpy() for c in counts]


def frenzel_pompe_counts(
    X: np.ndarray,
    groups: tuple,
    k: int,
    *,
    radius_factor: float = 1.0,
    algorithm: str = "auto",
    device: str = "cpu",
    n_jobs=None,
    eps: np.ndarray | None = None,
):
    """``ε`` and the subspace counts of the Frenzel–Pompe estimator.

    Parameters
    ----------
    X : ndarray (n, d)
        Joint samples (already jittered).
    groups : (A, B, C)
        Column indices of the three regions in ``X``.
    eps : ndarray or None
        Precomputed k-th neighbour distances (shared across triples of the
        same joint space); computed when None.

    Returns
    -------
    eps : ndarray (n,)
    counts : tuple of int arrays ``(n_B, n_AB, n_BC)``, or ``(n − 1, n_A, n_C)``
        when B is empty; each counts the other samples strictly within
        ``radius_factor·ε`` (closed ball when ``radius_factor < 1``).
    """
    A, B, C = (np.asarray(g, dtype=np.int64) for g in groups)
    n = X.shape[0]
    n_threads = _n_threads(n_jobs)
    kern = _kern() if algorithm in ("auto", "brute") else None
    if algorithm == "auto":
        algorithm = (
            "torch" if device.startswith("cuda") else "brute" if kern.HAVE_NUMBA else "kd_tree"
        )
    if algorithm == "brute" and not kern.HAVE_NUMBA:
        raise ImportError(
            "algorithm='brute' needs numba (pip install numba); use algorithm='kd_tree'"
        )
    if algorithm == "torch":
        e, cnt = _torch_search(X, (A, B, C), k, radius_factor, device, eps=eps)
        if not B.size:
            cnt[0] = np.full(n, n - 1, dtype=np.int64)
        return e, tuple(cnt)
    if eps is None:
        eps = (
            kern.kth_neighbour_distance(X, k, n_threads)
            if algorithm == "brute"
            else _eps_tree(X, k, n_threads)
        )
    r = eps * radius_factor
    if radius_factor != 1.0:  # closed ball of radius factor*eps == strictly below the next float
        r = np.nextafter(r, np.inf)
    if algorithm == "brute":
        if B.size:
            nB, nAB, nBC = kern.subspace_counts(X, r, B, (A, C), n_threads)
        else:
            nA = kern.subspace_counts(X, r, A, n_threads=n_threads)[0]
            nC = kern.subspace_counts(X, r, C, n_threads=n_threads)[0]
            nB, nAB, nBC = np.full(n, n - 1, dtype=np.int64), nA, nC
    else:
        AB, BC = np.concatenate([A, B]), np.concatenate([B, C])
        nB = _counts_tree(X, r, B, n_threads)
        nAB = _counts_tree(X, r, AB, n_threads)
        nBC = _counts_tree(X, r, BC, n_threads)
    return eps, (nB, nAB, nBC)


# ---------------------------------------------------------------------------
# estimator
# ---------------------------------------------------------------------------
class KNNCMI(CMIEstimator):
    """Frenzel–Pompe (KSG-type) k-NN estimate of I(A;C|B) with the max-norm, in nats.

    See the module docstring for the formula and the radius / self-counting
    conventions (strict ``< ε``, the sample itself never counted).

    Parameters
    ----------
    k : int, default=5
        Neighbours in the joint space (``1 <= k < n_samples``).
    jitter : float, default=1e-10
        Ties and discrete atoms make the k-th neighbour distance ambiguous;
        every coordinate gets ``jitter · std(coordinate) · U(0, 1)`` noise
        drawn from ``random_state`` before the search. ``0`` turns it off
        (then the result is a deterministic function of the data).
    random_state : int, RandomState or None
        Seed of the jitter.
    n_jobs : int or None, default=None
        Threads for the searches (None: 1, -1: all cores).
    algorithm : {"auto", "brute", "kd_tree", "torch"}, default="auto"
        ``"brute"``: compiled (numba), cache-tiled exact brute force pruned by
        a sorted key coordinate (fastest measured on CPU for joint d >= 10,
        see ``benchmarks/knn_cmi.py``); ``"kd_tree"``: scipy ``cKDTree`` k-NN
        search and scikit-learn ``KDTree.query_radius(count_only=True)``
        counts; ``"torch"``: blocked brute force with ``torch.cdist(p=inf)``
        on ``device``. ``"auto"``: torch on a GPU, else brute when numba is
        installed, else kd_tree. All give identical counts.
    device : str, default="auto"
        ``"auto"`` (CUDA when ``torch.cuda.is_available()``), ``"cpu"`` or ``"cuda[:i]"``.
    radius_factor : float, default=1.0
        Counts use the open ball ``< ε`` when 1, the closed ball
        ``≤ radius_factor · ε`` when smaller; tigramite 5.2's ``CMIknn`` is
        ``radius_factor=0.999999999`` (older releases ``0.99999``).
    drop_constant : bool, default=False
        Constant columns raise a ``ValueError``; with ``True`` they are
        dropped (in the max-norm a constant coordinate never changes a
        distance; when all of A or all of C is constant the estimate is 0).

    Notes
    -----
    *Pointwise terms*: ``ψ(k) − ψ(n_AB,i+1) − ψ(n_BC,i+1) + ψ(n_B,i+1)``; their
    mean is the estimate. *Standard error*: ``std(pointwise)/sqrt(n)``. It
    ignores the positive dependence between the terms of neighbouring samples
    (they share neighbours), so it is a rough (typically optimistic) error
    bar. Small negative estimates are returned as estimated, never clipped.
    """

    has_pointwise = True

    @property
    def min_samples(self) -> int:
        """Samples needed: more than ``k`` (each sample needs ``k`` neighbours)."""
        k = self.k
        return int(k) + 1 if isinstance(k, numbers.Integral) and k >= 1 else 2

    def __init__(
        self,
        k: int = 5,
        jitter: float = 1e-10,
        random_state=None,
        n_jobs=None,
        algorithm: str = "auto",
        device: str = "auto",
        radius_factor: float = 1.0,
        drop_constant: bool = False,
    ):
        store_params(self, locals())

    # -- validation ---------------------------------------------------------
    def _check_params(self, n: int):
        if isinstance(self.k, bool) or not isinstance(self.k, (int, np.integer)) or self.k < 1:
            raise ValueError(f"k={self.k!r} must be a positive integer")
        if self.k >= n:
            raise ValueError(f"k={self.k} must be smaller than the number of samples n={n}")
        if not np.isfinite(self.jitter) or self.jitter < 0:
            raise ValueError(f"jitter={self.jitter!r} must be a finite number >= 0")
        if self.algorithm not in _ALGORITHMS:
            raise ValueError(f"algorithm={self.algorithm!r} must be one of {_ALGORITHMS}")
        if not 0 < self.radius_factor <= 1:
            raise ValueError(f"radius_factor={self.radius_factor!r} must be in (0, 1]")
        return _knn_device(self.device)

    def _check(self, A, C, B):
        return check_triple(A, C, B, min_samples=2, allow_constant=bool(self.drop_constant))

    def _jitter(self, X: np.ndarray, rng) -> np.ndarray:
        if not self.jitter:
            return X
        return X + self.jitter * X.std(axis=0) * rng.random_sample(X.shape)

    # -- estimation ---------------------------------------------------------
    def _evaluate(self, A, C, B) -> CMIResult:
        X = np.hstack([A, B, C])
        dA, dB = A.shape[1], B.shape[1]
        reg = Regions(np.arange(dA), np.arange(dA, dA + dB), np.arange(dA + dB, X.shape[1]))
        return self._evaluate_matrix(X, [reg])[0]

    def evaluate_regions(
        self, X, regions: Sequence[Regions], lattice: Lattice | None = None
    ) -> list[CMIResult]:
        """I(A;C|B) for many triples; triples over the same joint columns share one k-NN search.

        (Lattice rings around one site always cover the same joint space
        A ∪ B(r) ∪ C, so a whole CMI(r) curve costs one k-NN search and one
        counting sweep per radius.) The jitter is drawn once for ``X``.
        """
        X = as_2d(X, "X")
        triples = check_regions(regions, X.shape[1])
        if not self.drop_constant:
            used = np.unique(np.concatenate([np.concatenate(t) for t in triples]))
            const = np.flatnonzero(np.ptp(X[:, used], axis=0) == 0)
            if len(const):
                raise ValueError(
                    f"X has {len(const)} constant column(s) among the regions (e.g. column "
                    f"{int(used[const[0]])}): a constant variable makes the estimate undefined; "
                    "drop them or pass drop_constant=True"
                )
        return self._evaluate_matrix(X, triples)

    def _evaluate_matrix(self, X: np.ndarray, triples) -> list[CMIResult]:
        n = X.shape[0]
        device = self._check_params(n)
        rng = check_random_state(self.random_state)
        nonconst = np.ptp(X, axis=0) > 0
        X = self._jitter(X, rng)
        psi = digamma(np.arange(n + 1, dtype=np.float64))  # psi[m] = digamma(m); index 0 unused
        psi_k = float(digamma(self.k))
        eps_cache: dict[tuple, np.ndarray] = {}
        out = []
        for A, B, C in triples:
            A, B, C = A[nonconst[A]], B[nonconst[B]], C[nonconst[C]]
            if A.size == 0 or C.size == 0:
                out.append(CMIResult(0.0, 0.0, np.zeros(n), n))
                continue
            cols = np.concatenate([A, B, C])
            key = tuple(np.sort(cols).tolist())
            Xj = np.ascontiguousarray(X[:, cols])
            dA, dB = A.size, B.size
            groups = (np.arange(dA), np.arange(dA, dA + dB), np.arange(dA + dB, cols.size))
            # eps depends only on the set of joint columns, not their order
            eps, (nB, nAB, nBC) = frenzel_pompe_counts(
                Xj,
                groups,
                int(self.k),
                radius_factor=float(self.radius_factor),
                algorithm=self.algorithm,
                device=device,
                n_jobs=self.n_jobs,
                eps=eps_cache.get(key),
            )
            eps_cache[key] = eps
            pw = psi_k - psi[nAB + 1] - psi[nBC + 1] + psi[nB + 1]
            value = float(np.mean(pw))
            se = float(np.std(pw, ddof=1) / np.sqrt(n))
            out.append(CMIResult(value, se, pw, n))
        return out
