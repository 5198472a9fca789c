"""Training checkpoints of the masked-context estimators (``neural``, ``mine``); private.

A killed training run resumes from its last validation check and ends with the
same weights as an uninterrupted one: the state holds the network, optimiser,
scheduler and batch-generator states. Files are written atomically and read
with ``torch.load(weights_only=True)`` onto the CPU, so a checkpoint made on a
GPU loads on a CPU-only machine and a foreign file can never run code.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch

from ..outdir import atomic_path


class TrainingCheckpoint:
    """One training run's state in a file, written atomically, read with
    ``torch.load(weights_only=True)`` onto the CPU.

    A state is a dict of tensors, numbers and lists: ``finished`` (bool),
    ``times`` (the training times), the network's weights and, while
    unfinished, the optimiser, scheduler and generator states, the step and the
    best validation weights so far.
    """

    def __init__(self, path):
        self.path = Path(path)

    def load(self) -> dict | None:
        """The saved state, or None when there is none or it cannot be read (it is then
        trained again and overwritten)."""
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            return None
        except Exception as exc:  # truncated or foreign file: train again
            warnings.warn(f"training checkpoint {os.fspath(self.path)!r} cannot be read "
                          f"({type(exc).__name__}); training again", RuntimeWarning,
                          stacklevel=2)
            return None
        ok = isinstance(state, dict) and {"finished", "times", "net"} <= set(state)
        return state if ok else None

    def save(self, state: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path) as tmp:
            torch.save(state, tmp)
