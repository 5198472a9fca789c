"""markovphase: conditional mutual information, Markov length and phases of
data distributions along diffusion paths (Hu, Liu, Zhang & Gao, 2025)."""

from __future__ import annotations

from .cmi import CMIEstimator, CMIResult
from .datasets import Dataset, load_dataset
from .diffusion import ForwardDiffusion, get_path
from .lattice import Lattice, Regions
from .provenance import version as _version

__version__ = _version() or "0.0.0"

_LAZY = {
    "GaussianCMI": "markovphase.cmi.gaussian",
    "CopulaCMI": "markovphase.cmi.copula",
    "KNNCMI": "markovphase.cmi.knn",
    "NeuralCMI": "markovphase.cmi.neural",
    "MINECMI": "markovphase.cmi.mine",
    "MixtureCMI": "markovphase.cmi.mixture",
    "MarkovProbe": "markovphase.probes.markov",
    "DenoiserProbe": "markovphase.probes.denoiser",
    "PhaseScan": "markovphase.scan",
    "LocalDenoiser": "markovphase.denoisers",
    "GlobalDenoiser": "markovphase.denoisers",
    "LinearLocalDenoiser": "markovphase.denoisers",
    "PatchPosteriorDenoiser": "markovphase.denoisers",
    "LocalitySchedule": "markovphase.schedule",
    "HybridSampler": "markovphase.sampling",
    "ExperimentConfig": "markovphase.experiment",
    "run_experiment": "markovphase.experiment",
    "Probe": "markovphase.probes",
    "LatticeCrop": "markovphase.preprocessing",
    "from_array": "markovphase.datasets.arrays",
}

__all__ = [
    "CMIEstimator", "CMIResult", "Dataset", "ForwardDiffusion", "Lattice", "Regions",
    "get_path", "load_dataset", *_LAZY,
]


def __getattr__(name):  # lazy imports keep `import markovphase` light (no torch)
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'markovphase' has no attribute {name!r}")
