"""Forward diffusion paths ``x_t = alpha(t) x_0 + sigma(t) z`` with ``z ~ N(0, I)``.

=============  ==========================  ==========================  =========
path           alpha(t)                    sigma(t)                    t range
=============  ==========================  ==========================  =========
``linear``     1 - t                       t                           [0, 1]
``cosine``     cos(pi/2 * f(t)) (VP)       sqrt(1 - alpha^2)           [0, 1]
``vp-linear``  exp(-B(t)/2), linear beta   sqrt(1 - alpha^2)           [0, 1]
``ve``         1                           s_min (s_max/s_min)^t       [0, 1]
=============  ==========================  ==========================  =========

``linear`` is the path of Hu et al. (2025); ``cosine`` is Nichol & Dhariwal's
variance-preserving path with offset ``s = 0.008``,
``f(t) = ((t + s)/(1 + s))``, rescaled so that alpha(0) = 1 exactly;
``vp-linear`` integrates beta(t) = beta_min + t (beta_max - beta_min).
Signal-to-noise ratio ``snr(t) = alpha(t)^2 / sigma(t)^2`` (infinite at t = 0
for every path but ``ve``).

Every estimator names its forward path ``path`` (a name of :data:`PATHS` or a
:class:`DiffusionPath`); ``schedule`` is kept for the *locality* schedule
(:mod:`markovphase.schedule`). The old spelling ``schedule=`` of the forward
path still works for one release with a ``FutureWarning``
(:func:`resolve_path`).
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .params import store_params
from .seeding import draw_seed


def _not_a_time(t) -> bool:
    """Booleans, text and ``None`` (also inside lists or object arrays) are not times."""
    if t is None or isinstance(t, (bool, np.bool_, str, bytes)):
        return True
    if isinstance(t, np.ndarray):
        return t.dtype == bool or (t.dtype.kind in "SUOV"
                                   and any(_not_a_time(v) for v in t.ravel().tolist()))
    if isinstance(t, (list, tuple)):
        return any(_not_a_time(v) for v in t)
    return False


def check_time(t, name: str = "t") -> np.ndarray | float:
    """Validate diffusion time(s): real numbers (not booleans, text or None), finite, in
    [0, 1]. Raises ``TypeError`` for what is not a number, ``ValueError`` outside [0, 1]."""
    if _not_a_time(t):
        raise TypeError(f"{name}={t!r} is not a time: expected a real number in [0, 1]")
    try:
        arr = np.asarray(t, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name}={t!r} is not a time: expected a real number in [0, 1]"
                        ) from None
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr > 1):
        raise ValueError(f"{name}={t!r} is outside the path: expected values in [0, 1]")
    return float(arr) if arr.ndim == 0 else arr


def check_times(times, name: str = "times", increasing: bool = False) -> np.ndarray:
    """Validate a non-empty 1-D sequence of times in [0, 1] (a number is one time).

    With ``increasing=True`` the times must also be strictly increasing.
    Returns a float ndarray; raises ``ValueError`` naming ``name``.
    """
    if _not_a_time(times):
        raise TypeError(f"{name}={times!r} must be a non-empty sequence of times in [0, 1] "
                        "(real numbers, not booleans or text)")
    try:
        seq = times if isinstance(times, (numbers.Real, np.ndarray)) else list(times)
        arr = np.atleast_1d(np.asarray(seq, dtype=float))
    except (TypeError, ValueError):
        raise ValueError(f"{name}={times!r} must be a non-empty sequence of times in [0, 1]"
                         ) from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name}={times!r} must be a non-empty 1-D sequence of times in [0, 1]")
    check_time(arr, name)
    if increasing and np.any(np.diff(arr) <= 0):
        raise ValueError(f"{name}={arr.tolist()!r} must be strictly increasing")
    return arr


@dataclass(frozen=True)
class DiffusionPath:
    """Base of forward paths; subclasses define :meth:`alpha` and :meth:`sigma`."""

    name = "base"

    def alpha(self, t):
        raise NotImplementedError

    def sigma(self, t):
        raise NotImplementedError

    def snr(self, t):
        """``alpha(t)^2 / sigma(t)^2`` (``inf`` where sigma is 0)."""
        a, s = np.asarray(self.alpha(t)), np.asarray(self.sigma(t))
        with np.errstate(divide="ignore"):
            out = np.where(s > 0, a**2 / np.where(s > 0, s, 1) ** 2, np.inf)
        return float(out) if out.ndim == 0 else out

    def log_snr(self, t):
        """``log snr(t)``: ``+inf`` where sigma is 0, ``-inf`` where alpha is 0."""
        with np.errstate(divide="ignore"):
            return np.log(self.snr(t))

    def noise(self, x0: np.ndarray, t: float, z: np.ndarray) -> np.ndarray:
        """``alpha(t) x0 + sigma(t) z`` for given noise ``z`` (same shape as ``x0``)."""
        t = check_time(t)
        return self.alpha(t) * x0 + self.sigma(t) * z

    def covariance(self, cov0: np.ndarray, t: float) -> np.ndarray:
        """Covariance of x_t from the clean covariance: ``alpha^2 Sigma_0 + sigma^2 I``."""
        t = check_time(t)
        if np.ndim(t) != 0:
            raise ValueError(f"t={t!r} must be one time (a scalar) for covariance")
        cov0 = np.asarray(cov0, dtype=float)
        if cov0.ndim != 2 or cov0.shape[0] != cov0.shape[1]:
            raise ValueError(f"cov0 must be a square 2-D matrix, got shape {cov0.shape}")
        a, s = self.alpha(t), self.sigma(t)
        return a**2 * cov0 + s**2 * np.eye(len(cov0))


@dataclass(frozen=True)
class LinearPath(DiffusionPath):
    """The paper's path: ``x_t = (1 - t) x_0 + t z``."""

    name = "linear"

    def alpha(self, t):
        return 1.0 - check_time(t)

    def sigma(self, t):
        return check_time(t) * 1.0


@dataclass(frozen=True)
class VPPath(DiffusionPath):
    """Base of variance-preserving paths: ``sigma(t) = sqrt(1 - alpha(t)^2)``."""

    def sigma(self, t):
        return np.sqrt(np.clip(1.0 - self.alpha(t) ** 2, 0.0, 1.0))


@dataclass(frozen=True)
class CosineVPPath(VPPath):
    """Variance-preserving cosine path (Nichol & Dhariwal 2021), s = 0.008."""

    name = "cosine"
    s: float = 0.008

    def alpha(self, t):
        t = check_time(t)
        f = np.cos(np.pi / 2 * (t + self.s) / (1 + self.s))
        f = f / np.cos(np.pi / 2 * self.s / (1 + self.s))
        return np.clip(f, 0.0, 1.0)


@dataclass(frozen=True)
class LinearBetaVPPath(VPPath):
    """Variance-preserving path with linear ``beta(t)`` (Ho et al. 2020 / Song et al. 2021)."""

    name = "vp-linear"
    beta_min: float = 0.1
    beta_max: float = 20.0

    def alpha(self, t):
        t = check_time(t)
        return np.exp(-0.5 * (self.beta_min * t + 0.5 * (self.beta_max - self.beta_min) * t**2))


@dataclass(frozen=True)
class VEPath(DiffusionPath):
    """Variance-exploding path ``x_t = x_0 + sigma(t) z``, geometric sigma."""

    sigma_min: float = 0.01
    sigma_max: float = 50.0
    name = "ve"

    def alpha(self, t):
        return np.ones_like(check_time(t)) * 1.0

    def sigma(self, t):
        return self.sigma_min * (self.sigma_max / self.sigma_min) ** check_time(t)


PATHS: dict[str, type[DiffusionPath]] = {
    "linear": LinearPath,
    "cosine": CosineVPPath,
    "vp-cosine": CosineVPPath,
    "vp-linear": LinearBetaVPPath,
    "ve": VEPath,
}


def get_path(path) -> DiffusionPath:
    """A path from a name in :data:`PATHS` or a :class:`DiffusionPath` instance."""
    if isinstance(path, DiffusionPath):
        return path
    if isinstance(path, str) and path in PATHS:
        return PATHS[path]()
    raise ValueError(f"path={path!r} is unknown; expected one of {sorted(PATHS)} "
                     "or a DiffusionPath instance")


#: default of the deprecated ``schedule`` parameter that named the forward path
DEPRECATED = "deprecated"


def is_set(value) -> bool:
    """Whether a deprecated parameter was given (differs from :data:`DEPRECATED`)."""
    return not (isinstance(value, str) and value == DEPRECATED)


def resolve_path(path, schedule=DEPRECATED, owner: str = "") -> DiffusionPath:
    """The forward path of an estimator: ``path``, or the deprecated ``schedule`` when set.

    ``schedule=`` named the forward path up to markovphase 0.1; it still
    works for one release with a ``FutureWarning`` and wins over ``path``
    (scikit-learn's deprecation pattern). Raises ``ValueError`` for an
    unknown path.
    """
    if is_set(schedule):
        who = f"{owner}: " if owner else ""
        warnings.warn(f"{who}the forward-path parameter 'schedule' is deprecated and will be "
                      "removed in the next release; use path= (the name schedule is kept for "
                      "locality schedules)", FutureWarning, stacklevel=3)
        path = schedule
    return get_path(path)


def fixed_noise(n_samples: int, n_features: int, random_state) -> np.ndarray:
    """Standard normal noise, one fixed row per sample for a given ``random_state``."""
    return check_random_state(random_state).standard_normal((n_samples, n_features))


class ForwardDiffusion(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Noise samples to time ``t`` of a forward diffusion path (scikit-learn transformer).

    ``transform(X) = alpha(t) X + sigma(t) Z`` with ``Z ~ N(0, I)``.

    Parameters
    ----------
    t : float, default=0.5
        Diffusion time in [0, 1] (0 = data, 1 = the path's end).
    path : str or DiffusionPath, default="linear"
        ``"linear"`` (paper), ``"cosine"`` (VP), ``"vp-linear"`` or ``"ve"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the noise.
    fixed_noise : bool, default=True
        If True, every call of ``transform`` uses the same noise draw per row
        (the paper's convention: a scan over ``t`` moves each sample along one
        straight path). Needs an int ``random_state`` to be repeatable across
        fits. If False, each call draws fresh noise.
    schedule : str or DiffusionPath, default="deprecated"
        Deprecated spelling of ``path`` (``FutureWarning``; removed in the next release).

    Attributes
    ----------
    path_ : DiffusionPath
    noise_seed_ : int
        The seed of the fixed noise, drawn from ``random_state`` in ``fit``.
    n_features_in_ : int
    """

    def __init__(self, t=0.5, path="linear", random_state=None, fixed_noise=True,
                 schedule=DEPRECATED):
        store_params(self, locals())

    def fit(self, X, y=None):
        validate_data(self, X, dtype=np.float64)
        if not isinstance(self.t, numbers.Real) or isinstance(self.t, (bool, np.bool_)):
            raise TypeError(f"t={self.t!r} is not a time: expected a real number in [0, 1]")
        check_time(self.t)
        self.path_ = resolve_path(self.path, self.schedule, "ForwardDiffusion")
        self.noise_seed_ = draw_seed(self.random_state)
        self._rng = np.random.default_rng(self.noise_seed_)
        return self

    def noise_for(self, n_samples: int) -> np.ndarray:
        """The noise ``Z`` that ``transform`` adds to ``n_samples`` rows."""
        check_is_fitted(self)
        if self.fixed_noise:
            rng = np.random.default_rng(self.noise_seed_)
        else:
            rng = self._rng
        return rng.standard_normal((n_samples, self.n_features_in_))

    def transform(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.path_.noise(X, self.t, self.noise_for(X.shape[0]))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = not self.fixed_noise
        return tags
