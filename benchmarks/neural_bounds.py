"""How loose the neural estimator's cross-entropy bound is, per context, on an exact case.

The neural CMI is a difference of held-out cross-entropies
``E[-log q(x_A | x_S)]``, each an upper bound on ``H(A | S)``. On a mixture
calibration case ``H(A | S)`` is exact on the same held-out rows (the case's
own model), so the looseness of each bound can be read off. When the bound
of a large context is looser than that of a small one, the CMI comes out low
by the difference. Prints, per time, the context sizes, the exact
conditional entropies, the network's looseness and the CMI estimate against
the exact one. Usage::

    OMP_NUM_THREADS=2 python benchmarks/neural_bounds.py class-gaussians:random_state=1
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.utils import check_random_state

from markovphase import provenance
from markovphase.calibration import get_case
from markovphase.cmi._engine_parts import split_rows
from markovphase.cmi.neural import NeuralCMI
from markovphase.diffusion import LinearPath
from markovphase.lattice import Regions


def exact_terms(model, X, a_idx, masks):
    """Per mask, the mean exact ``-log p(x_A | x_S)`` over the rows ``X`` (nats)."""
    out = []
    for m in masks:
        S = np.flatnonzero(m)
        lp, lp_a = model.prefix_logpdfs(X, a_idx, [S] if len(S) else [])
        out.append(float((lp[:, -1] - lp_a[:, -1]).mean()))
    return np.array(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("case", help="a mixture case: name[:key=value,...]")
    ap.add_argument("--times", type=float, nargs="+", default=[0.1, 0.3])
    ap.add_argument("--n-samples", type=int, default=10_000)
    a = ap.parse_args(argv)
    case = get_case(a.case)
    X0 = case.sample_clean(a.n_samples, 0)
    lat = case.lattice
    regs = case.regions([1, 2, 3, 4, 5, 6])
    A = regs[0].A
    regs.append(Regions(A, np.array([], dtype=np.intp), np.setdiff1d(np.arange(lat.n_features), A)))
    noise = np.random.default_rng(1).standard_normal(X0.shape)
    path = LinearPath()
    est = NeuralCMI(random_state=0)
    res = est.evaluate_path(X0, noise, path, a.times, regs, lattice=lat)
    rng = check_random_state(0)  # the estimator's own split: its seed is drawn first
    rng.randint(np.iinfo(np.int32).max)
    test = split_rows(len(X0), est.test_fraction, est.validation_fraction, rng)[2]
    exact_cmi = case.exact_cmi(a.times, range(1, 7), n_mc=40_000)
    print(provenance.header(), end="")
    print(f"# {case!r}; masks: B(1..6) and B u C (the whole context), sizes "
          f"{est.masks_.sum(1).tolist()}")
    for k, t in enumerate(a.times):
        X = path.alpha(t) * X0[test] + path.sigma(t) * noise[test]
        ex = exact_terms(case.model.noised(path, t), X, A, est.masks_)
        ex_t = exact_cmi[exact_cmi.t == t].sort_values("r")
        print(f"t = {t}")
        print("  exact H(A|S)        ", np.round(ex, 4).tolist())
        print("  network bound - exact", np.round(est.mask_terms_[k] - ex, 4).tolist())
        print("  CMI estimate  r=1..6 ", np.round([r.value for r in res[t][:6]], 4).tolist())
        print("  CMI exact     r=1..6 ", np.round(ex_t.exact.to_numpy(), 4).tolist())


if __name__ == "__main__":
    main()
