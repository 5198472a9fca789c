"""Neural CMI: one masked-context conditional density network, difference of cross-entropies.

For a target ``A`` and contexts ``B`` and ``B u C``,

    I(A;C|B) = H(A|B) - H(A|B,C)
             ~ E[-log q(x_A | x_B)] - E[-log q(x_A | x_B, x_C)]        (nats)

where ``q`` is ONE network that reads the context through a visibility mask
(masked values, the mask itself and a marker of the target feature) and
outputs a K-component Gaussian mixture for one feature of A (autoregressive
over A's features when ``d_A > 1``). It is trained on random masks drawn from
every requested context, then both expectations are taken over the same
held-out rows, so the value is the mean of per-row differences
``d_i = -log q(a_i|b_i) + log q(a_i|b_i,c_i)`` and its standard error is
``std(d) / sqrt(n_test)`` (it does not include the training randomness).

On a lattice (``evaluate_regions(..., lattice=...)``) the network is a small
CNN over the masked image; :meth:`NeuralCMI.evaluate_path` also conditions it
on the diffusion time, so one training run serves a whole (t, r) map.

Clean data with atoms (e.g. MNIST at t = 0, pixels ``k/255``): when the
values of a target feature have ties and lie on an even grid
(``value_grid="auto"``), the likelihood is discretised: ``q(a)`` is the
mixture mass of the bin ``[a - h/2, a + h/2]`` (end bins open), so the two
terms are conditional *entropies* of the discrete A and their difference is
the CMI of the discrete variable (the t -> 0 limit of the noised CMI). Ties
that are not on a grid give ``nan`` with the reason in ``reasons_``.

Architecture: on lattices a small CNN (masked values and mask as two planes,
time as a per-channel bias of the first layer, three stride-2 layers, dense
head). An MLP over the flattened masked image was 7x cheaper per step but
over-fitted the far context on the 16x16 field (validation loss rising from
step ~100, CMI biased by -0.03 nats at t = 0.1), while the CNN's shared
weights kept every GFF cell within 0.005 nats.

Near context (default): on lattices the sites within ``local_radius`` of A
also reach the dense layer unconvolved. With ``gaussian_baseline=True`` the
mixture starts at the Gaussian conditional of A given those visible sites
(see ``_baseline``): exact on the free field (RMS 0.001 nats at 729 sites
against 0.003 without), but its near-identical initial components are slow to
split into two modes, and on the 16x16 macrostate mixture it over-estimates
I(A;C|B(1)) at t = 0.5 and 0.6 (0.026 against 0.010, 0.030 against 0.019), so
it is off by default. ``nested_bounds`` takes for
each conditional entropy the tightest held-out bound among the contexts inside
it, so the CMI of nested rings is never negative.

Calibration (``benchmarks/calibration_suite.py --cmi neural``, defaults, ten
729-dimensional exact cases it was not tuned on, n = 10,000, t = 0.1..0.7,
r = 1..6; ``benchmarks/results/calibration_neural.txt``): within
max(0.01, 20 %) in 189 of 240 cells: free field 48/48 (RMS 0.0013 nats),
noisy Ising chain 47/48, MNIST class templates 44/48, class Gaussians and
k-means clusters 25/48 each, where it is low at small t (down to -0.056 nats
at t = 0.1: the within-class linear structure of the far context is not
learnt). Noise floor at n = 10,000: sd 0.0003 nats on the 78 cells whose exact
CMI is below 0.001.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..params import store_params
from ._masked_base import MaskedCMIBase
from .base import CMIResult, result_from_terms


class NeuralCMI(MaskedCMIBase):
    """I(A;C|B) from one masked-context conditional density network (nats).

    ``I = mean_i [-log q(a_i | b_i) + log q(a_i | b_i, c_i)]`` over held-out
    rows, ``q`` a K-component Gaussian mixture (discretised on a value grid
    for clean data with atoms), trained on the masks ``B`` and ``B u C`` of
    every requested triple. Standard error ``std(d_i)/sqrt(n_test)``.

    Parameters
    ----------
    hidden : tuple of int, default=(128, 128)
        Dense layer widths (after the CNN on lattices).
    n_components : int, default=6
        Mixture components of the density of one feature of A.
    architecture : {"auto", "cnn", "mlp"}, default="auto"
        CNN over masked images when a lattice is given, MLP otherwise.
    channels : int, default=8
        Width of the first CNN layers (doubled after the second stride).
    max_steps : int, default=2000
        Adam steps (one-cycle learning-rate schedule); the weights with the
        best validation loss (checked every ``eval_every`` steps) are kept.
    batch_size : int, default=256
    learning_rate : float, default=2e-3
    weight_decay : float, default=0.0
    test_fraction : float, default=0.3
        Held-out rows on which the CMI is evaluated.
    validation_fraction : float, default=0.1
        Part of the remaining rows used to pick the best weights.
    eval_every : int or None, default=None
        Steps between validation checks (None: ``max(25, max_steps // 20)``).
    value_grid : "auto", None or (lo, hi, step), default="auto"
        Discretised likelihood for clean data on a grid (see module docs).
    device : str, default="auto"
        "auto" (CUDA when available), "cpu", "cuda", ...
    random_state : int, RandomState or None, default=None
        Seeds the data split, initialisation, batches and noise.
    verbose : int, default=0
        1 shows a progress bar.
    checkpoint_dir : str, path or None, default=None
        Folder for training checkpoints (saved at every validation check,
        atomically; read with ``torch.load(weights_only=True)``). A killed run
        resumes from its last one with the same result, and a finished network
        is reused by a later call that asks for a subset of its times (a
        resumed scan). :class:`~markovphase.PhaseScan` sets it to
        ``cache_dir/checkpoints``. Does not change any result.
    local_radius : int, default=3
        On lattices, the masked values and mask of the sites within this L-inf
        distance of A go to the dense layer directly (the CNN's strides squeeze
        the near context otherwise), and the Gaussian baseline regresses on
        them only. -1: neither (the whole visible context for the baseline).
    gaussian_baseline : bool, default=False
        Start the density from the Gaussian conditional of A given the near
        visible context (the training rows' covariance moved along the path),
        so the network learns only the departure from it
        (:mod:`markovphase.cmi._baseline`). Better on nearly Gaussian fields,
        worse on bimodal conditionals (see the module notes).
    nested_bounds : bool, default=True
        Each conditional entropy is the tightest of the held-out cross-entropy
        bounds of the trained contexts inside it (:func:`tightest_nested`):
        where the network uses a large context worse than a smaller one inside
        it (over-fitting the far context of clean images), the smaller one's
        bound is taken. The estimate then never increases with r and never
        goes below 0 for nested rings; its stderr is the larger of the tight and
        the raw paired difference's. ``mask_terms_`` stays the raw values.

    Attributes
    ----------
    network_state_ : dict of CPU tensors — weights of the last trained network.
    history_ : list of (step, train_loss, val_loss).
    n_test_ : int — held-out rows of the last estimate.
    masks_ : (n_masks, n_features) bool — the contexts the network was trained on.
    mask_terms_ : (n_times, n_masks) — held-out cross-entropy ``E[-log q(x_A|mask)]``
        per context (nats; an upper bound on the conditional entropy).
    reasons_ : dict — times whose cells are not estimable, with the reason.
    """

    _mode = "density"

    def _gaussian_baseline(self) -> bool:
        for name in ("gaussian_baseline", "nested_bounds"):
            if not isinstance(getattr(self, name), bool | np.bool_):
                raise ValueError(f"{name}={getattr(self, name)!r} must be True or False")
        return bool(self.gaussian_baseline)

    def _local_radius(self) -> int:
        r = self.local_radius
        if isinstance(r, bool) or not isinstance(r, numbers.Integral) or r < -1:
            raise ValueError(f"local_radius={r!r} must be an integer >= -1 (-1: no near path)")
        return int(r)

    def __init__(self, hidden=(128, 128), n_components=6, architecture="auto", channels=8,
                 max_steps=2000, batch_size=256, learning_rate=2e-3, weight_decay=0.0,
                 test_fraction=0.3, validation_fraction=0.1, eval_every=None,
                 value_grid="auto", device="auto", random_state=None, verbose=0,
                 checkpoint_dir=None, local_radius=3, gaussian_baseline=False,
                 nested_bounds=True):
        store_params(self, locals())

    def _masks_needed(self, mask_id, contexts):
        B, BC = contexts
        return mask_id(B), mask_id(BC)

    def _triple_results(self, terms, mask_of, triples, n_test, masks):
        raw = [result_from_terms(terms[mb] - terms[mbc], n_test) for mb, mbc in mask_of]
        if not self.nested_bounds:
            return raw
        tight = tightest_nested(terms, masks)
        out = []
        for (mb, mbc), r in zip(mask_of, raw, strict=True):
            d = tight[mb] - tight[mbc]
            # the stderr of the raw paired difference: where both bounds come from one
            # context the tight difference is exactly 0, which is not exactness
            out.append(CMIResult(float(d.mean()), max(r.stderr, float(
                d.std(ddof=1) / np.sqrt(len(d)))), d, n_test))
        return out


def tightest_nested(terms: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Per mask, the per-row terms of the tightest valid cross-entropy bound.

    ``terms[i]`` are held-out terms ``-log q(a | x_{S_i})`` whose mean bounds
    ``H(A | S_i)`` from above. Less context never lowers the entropy
    (``S_j ⊆ S_i`` gives ``H(A|S_i) <= H(A|S_j) <= mean terms[j]``), so every
    mask inside ``S_i`` also bounds ``H(A|S_i)``; row ``i`` of the result is the
    row ``j`` with the smallest mean among them (``terms[i]`` itself when the
    network used its larger context well). ``masks`` is ``(M, D)`` bool.
    """
    m = np.asarray(masks, dtype=bool).astype(np.int64)
    inside = (m @ (1 - m).T) == 0  # inside[j, i]: S_j is a subset of S_i
    means = np.asarray(terms).mean(axis=-1)
    pick = [int(np.flatnonzero(inside[:, i])[np.argmin(means[inside[:, i]])])
            for i in range(len(m))]
    return np.asarray(terms)[pick]
