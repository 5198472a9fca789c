"""The denoiser probe: how much worse a radius-r denoiser is than a global one at time t.

For each radius r the probe reports the held-out *gap*

    gap(t, r) = MSE_local(t, r) - MSE_global(t),

the mean squared error (per feature, data units squared) of the estimate of
x0 from ``x_t = alpha x0 + sigma z``, over the held-out rows, local minus
global. The gap is ~0 where the data are Markov at scale r (the score is
local) and positive inside the transition window. Methods:

* ``"linear"`` (default, no training): the optimal local linear (Wiener)
  denoiser against the global Wiener filter, from the training rows' mean and
  covariance (:class:`~markovphase.denoisers.LinearLocalDenoiser`); rows also
  carry ``exact_gap``, the gap of the exact MSE formulas under that covariance.
* ``"network"``: :class:`~markovphase.denoisers.LocalDenoiser` (radius r)
  against :class:`~markovphase.denoisers.GlobalDenoiser`, both trained at the
  single time t (``network_params`` passes width, epochs, ...).
* ``"patch"``: the empirical patch posterior of radius r against the same
  machine with patches covering the whole lattice.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import validate_data

from ..diffusion import DEPRECATED, check_time, resolve_path
from ..lattice import resolve_lattice
from ..params import store_params
from ..seeding import draw_seed
from .base import Probe, as_sites, check_radii

__all__ = ["DenoiserProbe"]

_METHODS = ("linear", "network", "patch")


class DenoiserProbe(Probe):
    """Local-minus-global held-out denoising loss at each radius, at one time t.

    Parameters
    ----------
    lattice_shape : tuple of int or None, default=None
        Spatial shape; ``None`` = a 1-D chain.
    radii : sequence of int, default=(1, 2, 3)
        Strictly increasing radii >= 0.
    t : float, default=0.5
        Diffusion time in [0, 1].
    sites : site, list of sites or None, default=None
        Sites whose loss is measured; ``None`` = every site (the whole sample).
    n_channels : int, default=1
    periodic : bool, default=False
    path : str or DiffusionPath, default="linear"
        The forward path.
    method : {"linear", "network", "patch"}, default="linear"
    test_fraction : float, default=0.3
        Share of the rows held out for the loss.
    network_params : dict or None, default=None
        Extra parameters of the denoisers (``method="network"``: width, depth,
        epochs, ...; ``"patch"``: equivariant, max_patches).
    random_state : int, RandomState or None, default=None
        Seeds the split, the noise and the training.
    schedule : str or DiffusionPath, default="deprecated"
        Deprecated spelling of ``path`` (``FutureWarning``; removed in the next release).

    Attributes
    ----------
    results_ : list of dict
        One row per radius: ``r``, ``value`` (the gap), ``stderr`` (paired,
        over held-out rows), ``local_mse``, ``global_mse``, ``n_samples``,
        ``method``, and ``exact_gap`` for ``method="linear"``.
    gap_, gap_stderr_ : ndarray of shape (n_radii,)
    global_mse_ : float
    radii_, lattice_, path_
    """

    def __init__(self, lattice_shape=None, radii=(1, 2, 3), t=0.5, sites=None, n_channels=1,
                 periodic=False, path="linear", method="linear", test_fraction=0.3,
                 network_params=None, random_state=None, schedule=DEPRECATED):
        store_params(self, locals())

    def _make(self, radius, seed):
        from ..denoisers import LinearLocalDenoiser, PatchPosteriorDenoiser, network_denoiser

        common = dict(lattice_shape=self.lattice_.shape, n_channels=self.lattice_.n_channels,
                      periodic=self.lattice_.periodic, path=self.path_,
                      eval_times=(float(self.t),), random_state=seed)
        extra = dict(self.network_params or {})
        if self.method == "linear":
            return LinearLocalDenoiser(radius=radius, **common, **extra)
        if self.method == "patch":
            if radius is None:
                radius = max(self.lattice_.shape) - 1
            return PatchPosteriorDenoiser(radius=radius, **common, **extra)
        t = float(self.t)
        return network_denoiser(radius, t_min=t, t_max=t, **common, **extra)

    def fit(self, X, y=None):
        """Fit the denoisers on a training split of the clean ``X``; gaps on the rest."""
        X = validate_data(self, X, dtype=np.float64)
        t = float(check_time(self.t))
        self.path_ = resolve_path(self.path, self.schedule, "DenoiserProbe")
        if self.method not in _METHODS:
            raise ValueError(f"method={self.method!r} is unknown; expected one of {_METHODS}")
        tf = self.test_fraction
        if not isinstance(tf, (int, float)) or not 0 < tf < 1:
            raise ValueError(f"test_fraction={tf!r} must be a number in (0, 1)")
        self.radii_ = check_radii(self.radii)
        self.lattice_ = resolve_lattice(self.lattice_shape, self.n_channels, self.periodic,
                                        X.shape[1])
        n_test = int(round(tf * len(X)))
        if n_test < 2 or len(X) - n_test < 2:
            raise ValueError(f"X has {len(X)} rows: test_fraction={tf} must leave at least 2 rows "
                             "for training and 2 for testing")
        rng = check_random_state(self.random_state)
        perm = rng.permutation(len(X))
        test, train = X[perm[:n_test]], X[perm[n_test:]]
        seed = draw_seed(rng)
        lat = self.lattice_
        if self.sites is None:
            flat = None
            feats = np.arange(lat.n_features)
        else:
            sites = as_sites(self.sites, lat)
            flat = np.array([np.ravel_multi_index(tuple(np.atleast_1d(s)), lat.shape)
                             for s in sites])
            feats = lat.features(flat)
        exact = {}

        def losses(model, key):
            from ..denoisers.base import row_noise

            z = row_noise(test, (test.shape[1],), model.eval_seed_, salt=int(round(t * 1e9)))
            xt = model.path_.noise(test, t, z)
            if self.method == "linear":  # only the filters of the measured sites
                est, exact[key] = model.denoise_sites(xt, t, flat)
            else:
                est = model.denoise(xt, t)[:, feats]
            return np.mean((est - test[:, feats]) ** 2, axis=1)

        glob = self._make(None, seed).fit(train)
        g_loss = losses(glob, None) if t > 0 else np.zeros(n_test)
        rows = []
        for r in self.radii_:
            if t > 0:
                loc = self._make(int(r), seed).fit(train)
                d = losses(loc, int(r)) - g_loss
            else:
                loc, d = None, np.zeros(n_test)
            row = {"r": int(r), "value": float(d.mean()),
                   "stderr": float(d.std(ddof=1) / np.sqrt(n_test)),
                   "local_mse": float((d + g_loss).mean()), "global_mse": float(g_loss.mean()),
                   "n_samples": n_test, "method": self.method}
            if self.method == "linear":
                row["exact_gap"] = (float(exact[int(r)].mean() - exact[None].mean()) if t > 0
                                    else 0.0)
            rows.append(row)
        self.results_ = rows
        self.gap_ = np.array([r["value"] for r in rows])
        self.gap_stderr_ = np.array([r["stderr"] for r in rows])
        self.global_mse_ = float(g_loss.mean())
        return self

