"""markovphase-ising: Ising and Potts datasets (batched Swendsen–Wang) and the
``order-parameter`` probe for markovphase, as a third-party plugin."""

from __future__ import annotations

from importlib import metadata as _metadata

from .datasets import load_ising, load_potts
from .probe import OrderParameterProbe

try:
    __version__ = _metadata.version("markovphase-ising")
except _metadata.PackageNotFoundError:  # pragma: no cover
    __version__ = "0.0.0"

__all__ = ["OrderParameterProbe", "load_ising", "load_potts", "__version__"]
