"""The experiment's denoisers: fitted once per run, or loaded from a store of trained ones."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from ..cache import cache_key
from ..lattice import Lattice
from .config import DenoiserConfig

__all__ = ["fit_denoisers", "ModelStore", "DENOISER_KINDS"]

DENOISER_KINDS = ("network", "linear")


class ModelStore:
    """Trained networks on disk, each under a hash of its training rows and parameters.

    The file name hashes the training rows and every parameter of the network
    but ``verbose`` and ``device`` (:func:`markovphase.cache.cache_key`), so a
    changed setting trains afresh; weights go through ``save``/``load``
    (``torch.load(weights_only=True)``) and the centring mean through ``numpy.save``.
    Files are written atomically (temporary file, then ``os.replace``).
    """

    def __init__(self, root):
        self.root = Path(root)

    def stem(self, est, X, center: bool) -> Path:
        """The file stem of ``est`` fitted on ``X``: ``global-<key>`` or ``r<radius>-<key>``."""
        radius = est.get_params().get("radius")
        params = {k: v for k, v in est.get_params().items() if k not in ("verbose", "device")}
        key = cache_key(X, {"class": type(est).__name__, "params": params, "center": bool(center)})
        return self.root / f"{'global' if radius is None else f'r{radius}'}-{key}"

    def fit_or_load(self, est, X, center: bool = False):
        """``est`` fitted on ``X`` (wrapped in CenteredDenoiser when ``center``): loaded
        from the store when there, else fitted and saved."""
        from ..denoisers import CenteredDenoiser

        stem = self.stem(est, X, center)
        weights, mean = stem.with_suffix(".pt"), stem.with_suffix(".mean.npy")
        if weights.exists() and (mean.exists() or not center):
            try:
                inner = type(est).load(weights, device="cpu")
                return CenteredDenoiser.from_fitted(inner, np.load(mean)) if center else inner
            except (ValueError, OSError, EOFError):  # a damaged file: trained again below
                pass
        wrap = (CenteredDenoiser(est) if center else est).fit(X)
        stem.parent.mkdir(parents=True, exist_ok=True)
        tmp = stem.with_suffix(".pt.tmp")
        (wrap.estimator_ if center else wrap).save(tmp)
        if center:
            np.save(mean, wrap.mean_)
        os.replace(tmp, weights)
        return wrap


def fit_denoisers(config: DenoiserConfig, radii, X, lattice: Lattice, covariance=None,
                  random_state=0, verbose=0):
    """The global denoiser and one local denoiser per radius, fitted on ``X``.

    Parameters
    ----------
    config : DenoiserConfig
        ``kind`` ``"network"`` (trained networks; ``model_dir`` keeps them) or
        ``"linear"`` (Wiener filters; ``covariance`` is the exact clean
        covariance when known, else the sample covariance is used).
    radii : sequence of int
    X : ndarray of shape (n_samples, n_features)
        Training rows.
    lattice : Lattice
    random_state, verbose : seed and progress of the networks.

    Returns
    -------
    (global, {radius: local}, {name: fit seconds})
        ``name`` is ``"global"`` or ``"r=<radius>"``.
    """
    from ..denoisers import CenteredDenoiser, LinearLocalDenoiser, network_denoiser

    common = {"lattice_shape": lattice.shape, "n_channels": lattice.n_channels,
              "periodic": lattice.periodic}
    if config.kind == "network":
        common.update(random_state=random_state, verbose=verbose, device="cpu", **config.params)

        def make(radius, extra=None):
            return network_denoiser(radius, **{**common, **(extra or {})})
    elif config.kind == "linear":
        if config.model_dir is not None:
            raise ValueError("model_dir caches trained networks; it needs denoiser='network'")
        common.update(covariance=covariance, **config.params)

        def make(radius, extra=None):
            return LinearLocalDenoiser(radius=radius, **{**common, **(extra or {})})
    else:
        raise ValueError(f"denoiser={config.kind!r}; expected one of {DENOISER_KINDS}")
    store = None if config.model_dir is None else ModelStore(config.model_dir)
    estimators = {"global": make(None, config.global_params)}
    estimators.update({f"r={r}": make(r) for r in radii})
    fitted, seconds = {}, {}
    for name, est in estimators.items():
        t0 = time.perf_counter()
        if store is not None:
            fitted[name] = store.fit_or_load(est, X, config.center)
        else:
            fitted[name] = (CenteredDenoiser(est) if config.center else est).fit(X)
        seconds[name] = time.perf_counter() - t0
    return fitted["global"], {r: fitted[f"r={r}"] for r in radii}, seconds
