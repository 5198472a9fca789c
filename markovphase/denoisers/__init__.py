"""Local and global denoisers: trained networks with an exact receptive radius,
closed-form local denoisers (optimal linear / Wiener, empirical patch posterior),
the centring wrapper, and the recovery experiment.

* :mod:`~markovphase.denoisers.base` -- the shared interface (``denoise``,
  ``score``, ``flops``) and :func:`row_noise`;
* :mod:`~markovphase.denoisers.protocol` -- what a sampler may ask of a denoiser;
* :mod:`~markovphase.denoisers.network_base`, :mod:`~markovphase.denoisers.estimator`,
  :mod:`~markovphase.denoisers.networks` -- trained networks (estimators, torch modules);
* :mod:`~markovphase.denoisers.closed_form`, :mod:`~markovphase.denoisers.patch_posterior`
  -- training-free local denoisers;
* :mod:`~markovphase.denoisers.centered` -- :class:`CenteredDenoiser`;
* :mod:`~markovphase.denoisers.recovery` -- the recovery experiment.

Importing this package imports torch (the top-level ``markovphase`` does not).
"""

from __future__ import annotations

from .base import BaseDenoiser, ClosedFormDenoiser, row_noise
from .centered import CenteredDenoiser
from .closed_form import LinearLocalDenoiser
from .estimator import GlobalDenoiser, LocalDenoiser, NetworkDenoiser, network_denoiser
from .patch_posterior import PatchPosteriorDenoiser
from .protocol import as_denoiser, denoiser_flops
from .recovery import RecoveryResult, euler_recover, plot_recovery, recovery_experiment

__all__ = [
    "BaseDenoiser", "CenteredDenoiser", "ClosedFormDenoiser", "GlobalDenoiser",
    "LinearLocalDenoiser", "LocalDenoiser", "NetworkDenoiser", "PatchPosteriorDenoiser",
    "RecoveryResult", "as_denoiser", "denoiser_flops", "euler_recover", "network_denoiser",
    "plot_recovery", "recovery_experiment", "row_noise",
]
