"""A user's own arrays: ``.npz`` / ``.npy`` files and in-memory arrays."""

from __future__ import annotations

import os

import numpy as np

from ._util import check_positive_int, md5_file, parse_shape, resolve_path
from .base import Dataset

__all__ = ["load_npz", "from_array", "MissingArrayError"]


class MissingArrayError(KeyError, ValueError):
    """A ``.npz`` archive has no array of the requested name (a ``KeyError`` and a
    ``ValueError``, so the command line reports it in one line)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def _spatial_shape(X: np.ndarray, lattice_shape, n_channels: int, name: str) -> tuple[int, ...]:
    """The lattice shape of ``X`` (flattened or image-shaped), checked against the options."""
    if X.ndim < 2:
        raise ValueError(
            f"{name} has shape {X.shape}; it needs a sample axis first: (n_samples, n_features) "
            "flattened, or (n_samples, *lattice_shape[, n_channels]); for one sample use X[None]"
        )
    if X.shape[0] == 0:
        raise ValueError(f"{name} has no samples (shape {X.shape})")
    given = None if lattice_shape is None else parse_shape(lattice_shape)

    if X.ndim == 2:  # flattened
        if given is None:
            raise ValueError(
                f"{name} is flattened with shape {X.shape}; pass lattice_shape "
                f"(e.g. lattice_shape='28,28' or (28, 28)) so that prod(lattice_shape) * "
                f"n_channels = {X.shape[1]}"
            )
        need = int(np.prod(given)) * n_channels
        if need != X.shape[1]:
            raise ValueError(
                f"{name} has {X.shape[1]} features per sample but lattice_shape={given} with "
                f"n_channels={n_channels} needs {need}"
            )
        return given

    spatial = X.shape[1:]
    if n_channels > 1:
        if spatial[-1] != n_channels:
            raise ValueError(
                f"{name} has shape {X.shape}; with n_channels={n_channels} the last axis must "
                f"hold the channels (channels last: (n_samples, *lattice_shape, {n_channels}))"
            )
        spatial = spatial[:-1]
    elif given is not None and spatial == given + (1,):
        spatial = given  # (n, *shape, 1): one explicit channel axis
    elif given is None and len(spatial) >= 3 and spatial[-1] == 1:
        spatial = spatial[:-1]  # (n, h, w, 1), the usual single-channel image layout
    if given is not None and tuple(spatial) != given:
        raise ValueError(
            f"{name} has shape {X.shape}, i.e. lattice shape {tuple(spatial)} with "
            f"{n_channels} channel(s), which contradicts lattice_shape={given}"
        )
    return tuple(spatial)


def from_array(
    X,
    lattice_shape=None,
    n_channels: int = 1,
    periodic: bool = False,
    target=None,
    name: str = "array",
) -> Dataset:
    """Wrap an in-memory array of samples as a :class:`Dataset`.

    Parameters
    ----------
    X : array-like
        Either flattened, shape ``(n_samples, n_sites * n_channels)`` (then
        ``lattice_shape`` is required), or image-shaped,
        ``(n_samples, *lattice_shape)`` for one channel or
        ``(n_samples, *lattice_shape, n_channels)`` (channels last). A
        trailing axis of size 1 on a 3-or-more-axis ``X`` is read as a single
        channel: ``(n, 28, 28, 1)`` is a 28x28 lattice. Real numbers (bool,
        int or float), in whatever units the data has; converted to float64.
    lattice_shape : int, tuple of int, str or None, default=None
        The spatial shape, e.g. ``(28, 28)`` or ``"28,28"``; inferred from
        image-shaped ``X``, where it is only checked if given.
    n_channels : int, default=1
        Values per site.
    periodic : bool, default=False
        Whether the lattice wraps around.
    target : array-like of shape (n_samples,) or None, default=None
        Labels or other per-sample targets.
    name : str, default="array"
        The dataset's name.

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        Bad shapes (with what was expected), NaN or inf in ``X``, or a target
        of the wrong length.
    TypeError
        Non-numeric ``X``.
    """
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{name}: X must hold real numbers, got dtype {X.dtype}")
    n_channels = check_positive_int(n_channels, "n_channels")
    shape = _spatial_shape(X, lattice_shape, n_channels, f"{name}: X")
    n = X.shape[0]
    Xf = X.reshape(n, -1).astype(np.float64)
    bad = ~np.isfinite(Xf)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        raise ValueError(
            f"{name}: X contains {int(bad.sum())} NaN/inf value(s) in {len(rows)} sample(s) "
            f"(first: sample {rows[0]}); clean or drop them first"
        )
    if target is not None:
        target = np.asarray(target)
        if target.ndim == 2 and target.shape[1] == 1:
            target = target[:, 0]
        if target.ndim != 1 or target.shape[0] != n:
            raise ValueError(
                f"{name}: target has shape {target.shape}; it needs shape ({n},), one entry per "
                "sample"
            )
    return Dataset(
        X=Xf,
        lattice_shape=shape,
        n_channels=n_channels,
        target=target,
        periodic=bool(periodic),
        name=name,
        metadata={"original_shape": tuple(X.shape), "dtype": X.dtype.name},
    )


def load_npz(
    path: str,
    key: str = "X",
    lattice_shape: tuple | str | None = None,
    n_channels: int = 1,
    periodic: bool = False,
    target_key: str | None = "y",
) -> Dataset:
    """Your own samples from a ``.npz`` archive or a ``.npy`` array.

    Parameters
    ----------
    path : str
        A ``.npz`` archive (``np.savez``) or a ``.npy`` file (``np.save``);
        the format is detected from the content. Pickled object arrays are
        refused.
    key : str, default="X"
        The array of samples in a ``.npz`` archive (ignored for ``.npy``).
        Its layout is as in :func:`from_array`: flattened
        ``(n_samples, n_sites * n_channels)`` with ``lattice_shape`` given, or
        ``(n_samples, *lattice_shape[, n_channels])``.
    lattice_shape : tuple of int, str or None, default=None
        The spatial shape, e.g. ``"28,28"`` on the command line or
        ``(28, 28)``; required for flattened samples, inferred otherwise.
    n_channels : int, default=1
        Values per site (channels last).
    periodic : bool, default=False
        Whether the lattice wraps around.
    target_key : str or None, default="y"
        The array of per-sample labels in a ``.npz`` archive. If the
        default ``"y"`` is absent the target is ``None``; any other key that
        is absent is an error. ``None`` or ``""``: no target.

    Returns
    -------
    Dataset
        ``X`` as float64, values and units as stored. ``metadata``: ``path``,
        ``md5``, ``key``, ``target_key``, ``original_shape``, ``dtype``.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    MissingArrayError
        (a ``KeyError`` and a ``ValueError``) ``key`` (or a non-default
        ``target_key``) is not in the archive; the message lists the keys there.
    ValueError
        Not a NumPy file, bad shapes, NaN or inf, wrong target length.
    """
    path = resolve_path(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"array file not found: {path}")
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise ValueError(
            f"{path} is not a .npz/.npy file readable without pickle ({exc})"
        ) from None
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path} is not a readable .npz/.npy file ({exc})") from None

    if target_key == "":
        target_key = None
    target = None
    if isinstance(loaded, np.ndarray):
        X, used_key, target_key = loaded, None, None
    else:
        with loaded:
            keys = list(loaded.files)
            if key not in keys:
                raise MissingArrayError(f"{path} has no array {key!r} (key=); it has {keys}")
            try:
                X = loaded[key]
                if target_key is not None:
                    if target_key in keys:
                        target = loaded[target_key]
                    elif target_key == "y":
                        target_key = None
                    else:
                        raise MissingArrayError(
                            f"{path} has no array {target_key!r} (target_key=); it has {keys}"
                        )
            except MissingArrayError:
                raise
            except ValueError as exc:  # object arrays need pickle
                raise ValueError(f"{path}: cannot read {key!r} without pickle ({exc})") from None
        used_key = key
    try:
        ds = from_array(
            X, lattice_shape=lattice_shape, n_channels=n_channels, periodic=periodic,
            target=target, name="npz",
        )
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{path} [{used_key or 'array'}]: {exc}") from None
    ds.metadata.update(
        {"path": path, "md5": md5_file(path), "key": used_key, "target_key": target_key}
    )
    return ds
