"""A directory of finished scan cells, written as they complete, keyed by inputs.

Each cell is one JSON file written atomically (temporary file + ``os.replace``),
so an interrupted scan keeps every finished cell and a restart recomputes only
the rest. A cell that cannot be read back -- truncated, not JSON, or valid JSON
of the wrong shape (the cache's ``validate`` says which) -- is recomputed. The
key hashes the data and every parameter that changes a result; a changed
parameter selects a fresh directory.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .outdir import atomic_path


def canonical(obj: Any) -> Any:
    """JSON-able canonical form of parameters (estimators by class and params)."""
    if hasattr(obj, "get_params") and not isinstance(obj, type):
        return {"class": f"{type(obj).__module__}.{type(obj).__qualname__}",
                "params": canonical(obj.get_params(deep=False))}
    if isinstance(obj, type):
        return f"{obj.__module__}.{obj.__qualname__}"
    if isinstance(obj, dict):
        return {str(k): canonical(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple, range)):
        return [canonical(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return canonical(obj.tolist())
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return repr(obj)


def cache_key(X: np.ndarray, params: dict[str, Any]) -> str:
    """SHA-256 (first 20 hex digits) of the data bytes, shape and canonical params."""
    h = hashlib.sha256()
    X = np.ascontiguousarray(X, dtype=np.float64)
    h.update(repr(X.shape).encode())
    h.update(memoryview(X).cast("B"))
    h.update(json.dumps(canonical(params), sort_keys=True).encode())
    return h.hexdigest()[:20]


class CellCache:
    """Finished cells of one scan under ``root/<key>/``; ``root=None`` keeps nothing.

    ``validate(payload) -> bool`` (optional) says whether a cell read back has
    the expected shape; a cell it rejects is treated as missing (recomputed).
    """

    def __init__(self, root: str | os.PathLike | None, key: str, params: dict[str, Any],
                 validate: Callable[[Any], bool] | None = None):
        self.validate = validate
        self.dir = None if root is None else Path(root) / key
        if self.dir is not None:
            (self.dir / "cells").mkdir(parents=True, exist_ok=True)
            manifest = self.dir / "params.json"
            if not manifest.exists():
                self._atomic_write(manifest, {"key": key, "params": canonical(params)})

    @staticmethod
    def cell_name(t: float) -> str:
        return f"t={float(t):.10f}.json"

    @staticmethod
    def _atomic_write(path: Path, payload: Any) -> None:
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(canonical(payload), allow_nan=True))

    def load(self, t: float) -> dict | None:
        if self.dir is None:
            return None
        path = self.dir / "cells" / self.cell_name(t)
        if not path.exists():
            return None
        try:
            payload = json.loads(path.read_text())
        except (ValueError, OSError):  # truncated, not JSON, not UTF-8: recomputed
            return None
        if self.validate is not None and not self.validate(payload):
            return None  # valid JSON of the wrong shape: recomputed
        return payload

    def save(self, t: float, payload: dict) -> None:
        if self.dir is not None:
            self._atomic_write(self.dir / "cells" / self.cell_name(t), payload)
