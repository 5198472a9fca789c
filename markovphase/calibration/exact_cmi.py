r"""I(A;C|B) of a Gaussian mixture by Monte Carlo over exact log-densities.

For regions with ``A u B u C`` = the features in play,

    I(A;C|B) = E[log p(a,b,c) + log p(b) - log p(a,b) - log p(b,c)]      (nats),

the expectation over ``x ~ p``. Regions that share ``A`` and ``B u C`` and
whose ``B`` are nested (the rings ``B(1) c B(2) c ...`` of a lattice, plus
``B = {}`` for ``I(A;BC)``) form a *chain*: all their terms come from one
:meth:`~markovphase.calibration.mixture.GaussianMixtureModel.prefix_logpdfs`
call (``p(abc)`` and ``p(bc)`` are computed once). The standard error is
``std(d_i) / sqrt(n)`` of the per-sample terms ``d_i``. A one-component model
needs no sampling: ``I = 1/2 [log|S_AB| + log|S_BC| - log|S_B| - log|S_ABC|]``
(stderr 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.utils import check_random_state

from ..cmi.base import CMIResult, result_from_terms
from ..lattice import Regions
from .mixture import GaussianMixtureModel

__all__ = ["Chain", "nested_chains", "mixture_cmi", "mixture_cmi_path", "chain_terms"]


@dataclass
class Chain:
    """Regions sharing ``A`` and ``B u C`` with nested ``B``: ``P_i`` = first ``i`` blocks.

    ``members`` maps each region's index (in the caller's list) to its prefix ``i``
    (``B = P_i``); the last prefix is ``B u C``.
    """

    A: np.ndarray
    blocks: list[np.ndarray]
    members: list[tuple[int, int]] = field(default_factory=list)


def nested_chains(regions: Sequence) -> list[Chain]:
    """Group ``regions`` (``(A, B, C)`` index triples) into nested :class:`Chain` s."""
    groups: dict[tuple[bytes, bytes], list[tuple[int, np.ndarray]]] = {}
    sets = {}
    for i, reg in enumerate(regions):
        r = reg if isinstance(reg, Regions) else Regions(*reg)
        A = np.sort(np.asarray(r.A, dtype=np.intp))
        B = np.sort(np.asarray(r.B, dtype=np.intp))
        U = np.sort(np.concatenate([B, np.asarray(r.C, dtype=np.intp)]))
        if len(np.unique(U)) != len(U) or np.intersect1d(A, U).size:
            raise ValueError(f"regions[{i}]: A, B and C must be disjoint")
        key = (A.tobytes(), U.tobytes())
        sets[key] = (A, U)
        groups.setdefault(key, []).append((i, B))
    chains = []
    for key, members in groups.items():
        A, U = sets[key]
        members.sort(key=lambda m: len(m[1]))
        # each open chain: list of (B, region ids), B increasing; a region joins the
        # first chain whose largest B it contains, else opens a new one
        open_chains: list[list[tuple[np.ndarray, list[int]]]] = []
        for i, B in members:
            for cur in open_chains:
                if np.array_equal(cur[-1][0], B):
                    cur[-1][1].append(i)
                    break
                if np.isin(cur[-1][0], B).all():
                    cur.append((B, [i]))
                    break
            else:
                open_chains.append([(B, [i])])
        chains += [_close(cur, A, U) for cur in open_chains]
    return chains


def _close(cur, A, U) -> Chain:
    """The :class:`Chain` of nested ``(B, ids)``: blocks ``B_1, B_2 - B_1, ..., U - B_last``."""
    blocks, prev = [], np.empty(0, dtype=np.intp)
    ch = Chain(A, blocks)
    for B, ids in cur:
        new = np.setdiff1d(B, prev)
        if len(new):
            blocks.append(new)
        prev = B
        ch.members += [(i, len(blocks)) for i in ids]
    rest = np.setdiff1d(U, prev)
    if len(rest):
        blocks.append(rest)
    return ch


def chain_terms(lp: np.ndarray, lp_a: np.ndarray, i: int) -> np.ndarray:
    """Per-sample ``log p(abc) + log p(b) - log p(ab) - log p(bc)`` for ``B = P_i``."""
    return lp_a[:, -1] + lp[:, i] - lp_a[:, i] - lp[:, -1]


def _one_component(model: GaussianMixtureModel, chain: Chain) -> dict[int, CMIResult]:
    ld, ld_a = model.prefix_logdets(chain.A, chain.blocks)
    return {j: CMIResult(float(0.5 * (ld_a[i] + ld[-1] - ld[i] - ld_a[-1])), 0.0, None, 0)
            for j, i in chain.members}


def mixture_cmi(model: GaussianMixtureModel, regions: Sequence, X=None, n_mc: int = 20_000,
                random_state=None, exact_single: bool = True) -> list[CMIResult]:
    """I(A;C|B) of ``model`` for every region (nats, with Monte Carlo stderr).

    Parameters
    ----------
    model : GaussianMixtureModel
        The law of the (noised) data.
    regions : sequence of (A, B, C)
        Feature-index triples.
    X : array of shape (n, D) or None
        Rows to average the terms over. ``None`` draws ``n_mc`` rows from ``model``
        (the model's own CMI); given rows give the plug-in average
        ``mean_i d(x_i)`` of the model's log-densities over real data.
    n_mc : int
        Monte Carlo rows when ``X`` is None.
    random_state : int, RandomState or None
    exact_single : bool
        Compute a one-component model exactly from log-determinants (``X`` ignored).
    """
    regions = list(regions)
    out: list[CMIResult | None] = [None] * len(regions)
    chains = nested_chains(regions)
    if exact_single and model.n_components == 1:
        for ch in chains:
            for j, res in _one_component(model, ch).items():
                out[j] = res
        return out
    if X is None:
        if not isinstance(n_mc, int | np.integer) or n_mc < 2:
            raise ValueError(f"n_mc={n_mc!r} must be an integer >= 2")
        X = model.sample(int(n_mc), check_random_state(random_state))
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != model.n_features:
        raise ValueError(f"X has shape {X.shape}; the model has {model.n_features} features")
    for ch in chains:
        lp, lp_a = model.prefix_logpdfs(X, ch.A, ch.blocks)
        for j, i in ch.members:
            out[j] = result_from_terms(chain_terms(lp, lp_a, i))
    return out


def mixture_cmi_path(model: GaussianMixtureModel, path, times, regions: Sequence,
                     n_mc: int = 20_000, random_state=None) -> dict[float, list[CMIResult]]:
    """I(A;C|B) of ``x_t = alpha(t) x_0 + sigma(t) z``, ``x_0 ~ model``, at every time.

    The same ``n_mc`` clean rows and noise serve every ``t`` (each row moves
    along one path), so the map is smooth in ``t``. Returns ``{t: [CMIResult]}``.
    """
    from ..diffusion import check_time, get_path

    p = get_path(path)
    times = [float(check_time(t, "times")) for t in np.atleast_1d(times)]
    rng = check_random_state(random_state)
    X0 = Z = None
    if model.n_components > 1:
        if not isinstance(n_mc, int | np.integer) or n_mc < 2:
            raise ValueError(f"n_mc={n_mc!r} must be an integer >= 2")
        X0 = model.sample(int(n_mc), rng)
        Z = rng.standard_normal(X0.shape)
    out = {}
    for t in times:
        X = None if X0 is None else p.noise(X0, t, Z)
        out[t] = mixture_cmi(model.noised(p, t), regions, X=X)
    return out
