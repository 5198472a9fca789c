"""Names that moved in the 0.2 redesign keep working for one release (``FutureWarning``)."""

from __future__ import annotations

import importlib
import warnings

__all__ = ["moved_names"]


def moved_names(module: str, moves: dict[str, str]):
    """A module ``__getattr__`` for names that moved: ``{old name: "new.module:new_name"}``.

    Accessing ``module.old`` warns (``FutureWarning``) and returns the object at
    its new home; other names raise ``AttributeError`` as usual.
    """

    def __getattr__(name: str):
        if name not in moves:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        target, _, new = moves[name].partition(":")
        new = new or name
        warnings.warn(f"{module}.{name} has moved to {target}.{new}; the old name will be "
                      "removed in the next release", FutureWarning, stacklevel=2)
        return getattr(importlib.import_module(target), new)

    return __getattr__
