r"""Two macrostates on a free field: the smallest lattice distribution with a transition window.

A clean sample is

    x_0 = s mu + y,    s = +1 or -1 with probability 1/2,    y ~ GFF(m),

``y`` the periodic massive Gaussian free field
(:mod:`markovphase.datasets.gaussian_field`) and ``mu`` a uniform offset of
every site: an ordered phase in miniature, like the Ising model below T_c (two
macrostates, short-range fluctuations inside each).

Why it has a transition window along ``x_t = (1 - t) x_0 + t z``:

* near the data (small t) the ring B(r) around a site already tells the
  macrostate ``s``, and inside one macrostate the field is Markov with respect
  to nearest neighbours, so I(A;C|B(r)) ~ 0 for r >= 1;
* in the middle of the path the noise hides ``s`` from the few sites of B(r)
  but not from the many sites of C, so C still tells A something B does not:
  I(A;C|B) > 0, decaying slowly with r (xi grows);
* near noise (t -> 1) every site is independent noise: I -> 0 again.

On the default 12x12 torus (mass 0.5, mu 1) the exact I(A;C|B(1)) of the
centre site (from :class:`markovphase.calibration.gaussian.MacrostateMixture`,
20,000 Monte Carlo rows) is 0.0002 nats at t = 0 and 0.1, 0.0052 at t = 0.4,
0.0245 at t = 0.7 (the peak) and 0.0050 at t = 0.9.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._util import check_positive_int
from .base import Dataset
from .gaussian_field import (
    MAX_COVARIANCE_SITES,
    SPECTRUM,
    gaussian_field_covariance,
    sample_gaussian_field,
)

__all__ = ["load_macrostates"]


def load_macrostates(
    L: int = 12,
    ndim: int = 2,
    mass: float = 0.5,
    mu: float = 1.0,
    n_samples: int = 5000,
    random_state: int | None = 0,
) -> Dataset:
    """Two macrostates ``s mu + GFF`` (s = +-1) on a torus: an ordered phase with a transition
    window along the diffusion path (the default of ``markovphase scan``).

    Parameters
    ----------
    L : int, default=12
        Side of the ``L^ndim`` periodic lattice.
    ndim : int, default=2
        Number of spatial axes.
    mass : float, default=0.5
        Mass ``m > 0`` of the free field inside each macrostate (correlation
        length about ``1 / m`` sites).
    mu : float, default=1.0
        Offset of every site in macrostate ``s = +1`` (``-mu`` for ``s = -1``);
        ``mu = 0`` is the plain free field (one phase, no window).
    n_samples : int, default=5000
        Independent exact samples.
    random_state : int or None, default=0
        Seed of the sampler.

    Returns
    -------
    Dataset
        ``X`` float64 of shape ``(n_samples, L**ndim)`` (dimensionless field
        values, mean 0); ``target`` the macrostate ``s`` (+1 or -1, int64);
        ``periodic=True``; ``covariance`` the exact covariance
        ``inv(m^2 I + Laplacian) + mu^2 * ones`` (``None`` above 8192 sites);
        ``metadata``: the parameters, the model and the spectrum.
    """
    L = check_positive_int(L, "L")
    ndim = check_positive_int(ndim, "ndim")
    n_samples = check_positive_int(n_samples, "n_samples")
    if isinstance(mu, bool) or not isinstance(mu, numbers.Real) or not np.isfinite(mu):
        raise ValueError(f"mu={mu!r} must be a finite real number")
    shape = (L,) * ndim
    rng = np.random.default_rng(random_state)
    y = sample_gaussian_field(shape, mass, n_samples, rng).reshape(n_samples, -1)
    s = rng.choice(np.array([-1, 1]), size=n_samples)
    X = s[:, None] * float(mu) + y
    n_sites = L**ndim
    cov = None
    if n_sites <= MAX_COVARIANCE_SITES:
        cov = gaussian_field_covariance(shape, mass) + float(mu) ** 2
    return Dataset(
        X=X,
        lattice_shape=shape,
        n_channels=1,
        target=s.astype(np.int64),
        periodic=True,
        covariance=cov,
        name="macrostates",
        metadata={
            "model": "x0 = s * mu + y, s = +-1 (probability 1/2 each), y ~ periodic GFF",
            "mass": float(mass),
            "mu": float(mu),
            "shape": shape,
            "spectrum": SPECTRUM,
            "n_samples": n_samples,
            "random_state": random_state,
        },
    )
