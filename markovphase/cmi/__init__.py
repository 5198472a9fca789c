"""Estimators of the conditional mutual information I(A;C|B), in nats.

Built-ins are registered through ``markovphase_register_cmi_estimators``,
the same hook third-party plugins use.
"""

from __future__ import annotations

from ..hookspecs import hookimpl
from .base import CMIEstimator, CMIResult, check_regions, check_triple

__all__ = ["CMIEstimator", "CMIResult", "check_regions", "check_triple"]


@hookimpl
def markovphase_register_cmi_estimators(register):
    from .copula import CopulaCMI
    from .gaussian import GaussianCMI
    from .knn import KNNCMI
    from .mine import MINECMI
    from .mixture import MixtureCMI
    from .neural import NeuralCMI

    register("gaussian", GaussianCMI)
    register("copula", CopulaCMI)
    register("knn", KNNCMI)
    register("neural", NeuralCMI)
    register("mine", MINECMI)
    register("mixture", MixtureCMI)
