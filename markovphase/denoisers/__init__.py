"""Local and global denoisers: trained networks with an exact receptive radius,
closed-form local denoisers (optimal linear / Wiener, empirical patch posterior),
and the recovery experiment.

Importing this package imports torch (the top-level ``markovphase`` does not).
"""

from __future__ import annotations

from .base import BaseDenoiser, row_noise
from .closed_form import LinearLocalDenoiser, PatchPosteriorDenoiser
from .estimator import GlobalDenoiser, LocalDenoiser
from .recovery import RecoveryResult, euler_recover, plot_recovery, recovery_experiment

__all__ = [
    "BaseDenoiser", "GlobalDenoiser", "LinearLocalDenoiser", "LocalDenoiser",
    "PatchPosteriorDenoiser", "RecoveryResult", "euler_recover", "plot_recovery",
    "recovery_experiment", "row_noise",
]
