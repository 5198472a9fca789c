"""Built-in dataset adapters, registered through ``markovphase_register_datasets``."""

from __future__ import annotations

import inspect

from ..hookspecs import hookimpl
from .base import Dataset

__all__ = ["Dataset", "load_dataset", "dataset_parameters"]


@hookimpl
def markovphase_register_datasets(register):
    from .arrays import load_npz
    from .digits import load_digits
    from .gaussian_field import load_gaussian_field
    from .macrostates import load_macrostates
    from .mnist import load_mnist
    from .patches import load_image_patches

    register("mnist", load_mnist)
    register("npz", load_npz)
    register("digits", load_digits)
    register("gaussian-field", load_gaussian_field)
    register("macrostates", load_macrostates)
    register("image-patches", load_image_patches)


def load_dataset(name, **params) -> Dataset:
    """Load a registered dataset by name, e.g. ``load_dataset("mnist", path=..., crop=27)``.

    ``name`` may also be the :class:`markovphase.plugins.Component` of a dataset
    (a caller that already looked it up, such as the command line, passes it so
    that the name is resolved once). Unknown parameters raise a ``TypeError``
    listing the ones the adapter takes.
    """
    from .. import plugins

    if isinstance(name, plugins.Component):
        loader, name = name.obj, name.name
    else:
        loader = plugins.get("dataset", name)
    sig = inspect.signature(loader)
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    unknown = [k for k in params if k not in sig.parameters and not accepts_any]
    if unknown:
        raise TypeError(
            f"dataset {name!r} got unknown parameter(s) {unknown}; it takes "
            f"{[p for p in sig.parameters]}"
        )
    ds = loader(**params)
    if not isinstance(ds, Dataset):
        raise TypeError(f"dataset {name!r} returned {type(ds).__name__}, expected Dataset")
    if not ds.name:
        ds.name = name
    return ds


def dataset_parameters(name: str) -> dict[str, inspect.Parameter]:
    """The keyword parameters of a registered dataset adapter."""
    from .. import plugins

    return dict(inspect.signature(plugins.get("dataset", name)).parameters)
