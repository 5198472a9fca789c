"""What a masked-context engine is built from: seeding, the value grid of clean
targets, the row split, the lattice geometry and the run configuration; private.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch


@contextmanager
def deterministic_torch(seed: int):
    """Seed torch and switch on deterministic algorithms, restoring the flag after."""
    prev = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.manual_seed(seed)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(prev)


def detect_grid(values: np.ndarray, max_levels: int = 4096):
    """``(lo, hi, step)`` when the values have ties and lie on an even grid, else None.

    Returns ``"atoms"`` when there are ties but no even grid (a density
    cannot be estimated there).
    """
    u = np.unique(values)
    if len(u) == len(values) or len(u) < 2:
        return None if len(u) == len(values) else "atoms"
    gaps = np.diff(u)
    step = gaps.min()
    ratio = gaps / step
    if np.all(np.abs(ratio - np.round(ratio)) < 1e-3) and (u[-1] - u[0]) / step < max_levels:
        return float(u[0]), float(u[-1]), float(step)
    return "atoms"


def split_rows(n: int, test_fraction: float, validation_fraction: float, rng):
    """Disjoint train / validation / test row indices (test drawn first)."""
    perm = rng.permutation(n)
    n_test = max(1, int(round(test_fraction * n)))
    n_val = max(1, int(round(validation_fraction * (n - n_test))))
    if n - n_test - n_val < 2:
        raise ValueError(f"n_samples={n} is too small for test_fraction={test_fraction} and "
                         f"validation_fraction={validation_fraction}")
    test, val, train = perm[:n_test], perm[n_test:n_test + n_val], perm[n_test + n_val:]
    return np.sort(train), np.sort(val), np.sort(test)


@dataclass
class Geometry:
    """Spatial shape and channels of a lattice sample (None shape = plain vector)."""

    shape: tuple[int, ...] | None
    n_channels: int = 1

    def sites_near(self, features, radius: int) -> np.ndarray:
        """Flat indices of the sites within L-inf distance ``radius`` of the sites of
        ``features`` (clipped at the borders)."""
        if self.shape is None or radius < 0:
            return np.zeros(0, dtype=np.intp)
        shape = np.array(self.shape)
        own = np.array(np.unravel_index(np.unique(np.asarray(features) // self.n_channels),
                                        self.shape)).T
        grid = np.indices(self.shape).reshape(len(shape), -1).T
        near = (np.abs(grid[:, None, :] - own[None]).max(axis=2) <= radius).any(axis=1)
        return np.flatnonzero(near)

    def planes(self, v: torch.Tensor) -> torch.Tensor:
        if self.shape is None:
            return v
        b = v.shape[0]
        x = v.view(b, *self.shape, self.n_channels)
        return x.movedim(-1, 1)


@dataclass
class EngineConfig:
    mode: str
    architecture: str
    hidden: tuple[int, ...]
    channels: int
    n_components: int
    max_steps: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    eval_every: int
    n_shuffles: int
    device: torch.device
    verbose: int
    local_radius: int = -1
    gaussian_baseline: bool = False
