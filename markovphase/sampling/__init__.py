"""Hybrid sampling: the reverse-time sampler and its time grids.

* :mod:`~markovphase.sampling.sampler` -- :class:`HybridSampler`, local denoisers
  outside the transition window and a global one inside, with FLOPs and wall
  time per phase;
* :mod:`~markovphase.sampling.grids` -- :func:`time_grid` and its named spacings.
"""

from __future__ import annotations

import warnings

from ..denoisers.centered import CenteredDenoiser
from ..denoisers.protocol import as_denoiser, denoiser_flops
from .grids import TIME_SPACINGS, parse_time_spacing, step_coefficients, time_grid
from .sampler import METHODS, HybridSampler

__all__ = ["HybridSampler", "CenteredDenoiser", "as_denoiser", "denoiser_flops", "time_grid",
           "step_coefficients", "parse_time_spacing", "TIME_SPACINGS", "METHODS", "analytic_flops"]


def analytic_flops(denoiser, n_samples: int, t: float) -> float | None:
    """Deprecated: call ``denoiser.flops(n_samples, t)``.

    FLOPs of one ``denoise`` call of a closed-form denoiser (the Wiener filter
    or the patch posterior); ``None`` for other objects, as before.
    """
    warnings.warn("analytic_flops is deprecated and will be removed in the next release; call "
                  "denoiser.flops(n_samples, t)", FutureWarning, stacklevel=2)
    from ..denoisers.base import ClosedFormDenoiser

    if isinstance(denoiser, ClosedFormDenoiser):
        return denoiser.flops(n_samples, t)
    return None
