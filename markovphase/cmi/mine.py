"""MINE CMI: Donsker-Varadhan mutual information with a masked-context critic.

The authors' route (Hu et al. 2025, after Belghazi et al. 2018):

    I(A;S) >= E_P[T(a, s)] - log E_{P_A x P_S}[exp T(a, s)]          (nats)
    I(A;C|B) = I(A;B,C) - I(A;B)

Here ONE critic ``T`` reads A's values together with a masked context (mask
channel as input) and is trained on random masks drawn from every requested
``B`` and ``B u C`` (and, in :meth:`MINECMI.evaluate_path`, on random times),
so the ``I(A;BC)`` term is shared by every radius. Unlike the authors (who
average the bound over training batches and take the max of three runs) both
terms are evaluated on HELD-OUT rows, the product of marginals by pairing each
row's context with ``n_shuffles`` other rows' A. The standard error comes from
the influence terms ``psi_i = T(a_i, s_i) - lme - (w_i - 1)`` with
``w_i = mean_q exp(T(a_{pi_q(i)}, s_i) - lme)``, ``lme`` the log-mean-exp of
the shuffled scores (``mean psi = `` the bound); the CMI's pointwise terms are
``psi_i(B u C) - psi_i(B)``.

The DV bound is a *lower* bound on each MI, so the difference has no sign
guarantee; see the calibration benchmark for its bias.
"""

from __future__ import annotations

import numpy as np

from ..params import store_params
from ._masked_base import MaskedCMIBase
from .base import result_from_terms


class MINECMI(MaskedCMIBase):
    """I(A;C|B) = I(A;BC) - I(A;B) from a Donsker-Varadhan critic on masked contexts.

    Parameters
    ----------
    hidden : tuple of int, default=(128, 128)
        Dense layer widths of the critic (after the CNN on lattices).
    architecture : {"auto", "cnn", "mlp"}, default="auto"
        CNN over masked images when a lattice is given, MLP otherwise.
    channels : int, default=8
        Width of the first CNN layers.
    max_steps : int, default=2000
        Adam steps; each batch uses one (time, mask) so the in-batch shuffle
        keeps both fixed. The best validation bound's weights are kept.
    batch_size : int, default=256
    learning_rate : float, default=1e-3
    weight_decay : float, default=0.0
    n_shuffles : int, default=4
        Shuffled partners per held-out row for the product-of-marginals term.
    test_fraction, validation_fraction, eval_every, device, random_state, verbose, checkpoint_dir
        As in :class:`~markovphase.cmi.neural.NeuralCMI`.
    value_grid : ignored placeholder kept for a common interface, default=None
        (the DV bound needs no density, so clean data with atoms is fine).

    Attributes
    ----------
    network_state_, history_, n_test_, masks_ : as in NeuralCMI.
    mask_terms_ : (n_times, n_masks) — held-out DV bound of I(A; context) per mask.
    batch_mask_terms_ : (n_times, n_masks) — the same bound averaged over the training
        batches of the second half of the steps (each batch is one (time, mask)): the
        authors' estimate, biased upwards by over-fitting; ``nan`` for a pair that
        had no batch there.
    batch_cmi_ : (n_times, n_triples) — ``I(A;BC) - I(A;B)`` from ``batch_mask_terms_``
        (the last A group of the call).
    """

    _mode = "mine"

    def __init__(self, hidden=(128, 128), architecture="auto", channels=8, max_steps=2000,
                 batch_size=256, learning_rate=1e-3, weight_decay=0.0, n_shuffles=4,
                 test_fraction=0.3, validation_fraction=0.1, eval_every=None,
                 value_grid=None, device="auto", random_state=None, verbose=0,
                 checkpoint_dir=None):
        store_params(self, locals())

    def _grids(self, X0, a_idx):
        return [None] * len(a_idx)

    def _masks_needed(self, mask_id, contexts):
        B, BC = contexts
        return (mask_id(B) if np.asarray(B).size else None), mask_id(BC)

    def _triple_results(self, terms, mask_of, triples, n_test, masks):
        return [result_from_terms(terms[mbc] - (0.0 if mb is None else terms[mb]), n_test)
                for mb, mbc in mask_of]
