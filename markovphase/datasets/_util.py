"""Small helpers shared by the dataset adapters (not public API)."""

from __future__ import annotations

import hashlib
import os
import re

import numpy as np


def parse_shape(shape, name: str = "lattice_shape") -> tuple[int, ...]:
    """Turn ``28``, ``(28, 28)``, ``"28,28"``, ``"28x28"`` or ``"(28, 28)"`` into a tuple.

    Raises ``ValueError`` (or ``TypeError`` for a wrong type) naming ``name``.
    """
    original = shape
    if isinstance(shape, str):
        body = shape.strip()
        if body[:1] in "([" and body[-1:] in ")]":
            body = body[1:-1].strip()
        parts = re.split(r"\s*[,xX*]\s*|\s+", body) if body else []
        if len(parts) > 1 and parts[-1] == "":  # "(28,)"
            parts = parts[:-1]
        if not parts:
            raise ValueError(f"{name}={original!r} is empty; give sizes like '28,28'")
        try:
            shape = tuple(int(p) for p in parts)
        except ValueError:
            raise ValueError(
                f"{name}={original!r} is not a list of integers; give sizes like '28,28'"
            ) from None
    elif isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (int(shape),)
    else:
        try:
            items = tuple(shape)
        except TypeError:
            raise TypeError(
                f"{name} must be an int, a tuple of ints or a string like '28,28', "
                f"got {original!r}"
            ) from None
        if not all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in items
        ):
            raise TypeError(f"{name} must contain integers only, got {original!r}")
        shape = tuple(int(s) for s in items)
    if not shape or any(s < 1 for s in shape):
        raise ValueError(f"{name}={original!r} must be non-empty with sizes >= 1")
    return shape


def check_n_samples(n_samples, available: int, what: str) -> int:
    """Validate ``n_samples`` (None means all of ``available``)."""
    if n_samples is None:
        return available
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)):
        raise TypeError(f"n_samples must be an int or None, got {n_samples!r}")
    n_samples = int(n_samples)
    if not 1 <= n_samples <= available:
        raise ValueError(f"n_samples={n_samples} must be between 1 and {available} ({what})")
    return n_samples


def check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value!r}")
    return int(value)


def md5_bytes(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def md5_file(path: str, chunk: int = 1 << 20) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def resolve_path(path) -> str:
    """``~``-expanded absolute path as a ``str``."""
    return os.path.abspath(os.path.expanduser(os.fspath(path)))
