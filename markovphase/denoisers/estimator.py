"""Trained local and global denoisers as scikit-learn estimators.

The network predicts **x0** (the posterior mean of the clean sample), with the
preconditioning of Karras et al. (2022). Data are standardised by one scalar
offset ``m`` and scale ``s`` (translation-equivariant), ``u0 = (x0 - m) / s``;
``x_t = alpha x0 + sigma z`` becomes ``u_t = (x_t - alpha m) / s = alpha u0 + sigma' z``
with ``sigma' = sigma / s``. With ``v = alpha^2 + sigma'^2``:

    u0_hat = c_skip u_t + c_out F(c_in u_t, t),
    c_in = 1 / sqrt(v),  c_skip = alpha / v,  c_out = sigma' / sqrt(v),

and the training loss is ``|F - (u0 - c_skip u_t) / c_out|^2`` averaged over
features (the x0-MSE weighted by ``1 / c_out^2``, bounded for every t), with
``t ~ U[t_min, t_max]`` and fresh noise per batch. The noise estimate, where
wanted, is ``eps_hat = (x_t - alpha x0_hat) / sigma``. ``score`` is minus the
x0-MSE in data units (see :mod:`markovphase.denoisers.base`).
"""

from __future__ import annotations

import copy
import json
import numbers

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .base import BaseDenoiser, check_radius, check_times, resolve_lattice
from .networks import build_network

__all__ = ["LocalDenoiser", "GlobalDenoiser", "resolve_device"]


def resolve_device(device) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; any other value goes to ``torch.device``."""
    if device == "auto" or device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={device!r} is not a torch device "
                         "('auto', 'cpu', 'cuda', ...)") from exc


def _check_positive(value, name, integral=False, allow_zero=False):
    kind = numbers.Integral if integral else numbers.Real
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name}={value!r} must be a {'n integer' if integral else ' number'} "
                         f"{'>= 0' if allow_zero else '> 0'}")


class LocalDenoiser(BaseDenoiser):
    """Denoiser network with an exact receptive radius, trained by denoising score matching.

    Parameters
    ----------
    lattice_shape : tuple of int or None, default=None
        Spatial shape, e.g. ``(28, 28)``; ``None`` treats the features as a
        1-D chain of ``n_features / n_channels`` sites.
    radius : int or None, default=1
        Receptive radius r (L-infinity, in sites): the estimate at site p uses
        only the sites within distance r of p. ``None`` gives the global
        network (:class:`~markovphase.denoisers.networks.GlobalScoreNet`).
    n_channels : int, default=1
        Values per site (channels last in the flattened sample).
    periodic : bool, default=False
        Periodic lattice (circular padding).
    width : int, default=32
        Hidden channels.
    depth : int, default=2
        Extra 1x1 layers after the ``r`` 3x3 layers (local network only).
    position_channels : int, default=0
        Local network only: ``m > 0`` adds a learnable per-site embedding of
        ``m`` channels to the input and a learnable per-site output bias
        (:class:`~markovphase.denoisers.networks.LocalScoreNet`). They are
        constants of the site, so the receptive radius stays exactly ``r``,
        but the network can represent position-dependent statistics (it is no
        longer translation-equivariant). ``0`` keeps the equivariant network.
    schedule : str or DiffusionPath, default="linear"
        Forward path (``"linear"`` is ``x_t = (1 - t) x0 + t z``; ``"cosine"``,
        ``"vp-linear"`` are variance preserving).
    t_min, t_max : float, default=0.01, 1.0
        Training times are drawn uniformly from ``[t_min, t_max]``; equal
        values train at one time.
    epochs : int, default=50
        Passes over the training split.
    batch_size : int, default=64
    learning_rate : float, default=2e-3
        Adam step size (cosine-annealed to 0 over ``epochs``).
    max_grad_norm : float or None, default=None
        Clip the gradient's global L2 norm to this value before each step
        (``torch.nn.utils.clip_grad_norm_``); guards wide networks against the
        loss spikes of Adam at a large step size. ``None``: no clipping.
    validation_fraction : float, default=0.1
        Held-out share of the rows for early stopping (none when it would
        hold less than one row).
    n_iter_no_change : int or None, default=10
        Stop when the held-out loss has not improved for this many epochs
        (``None``: never stop early); the best weights are kept.
    eval_times : sequence of float, default=(0.1, 0.3, 0.5, 0.7, 0.9)
        Times over which ``score`` averages.
    transform_t : float, default=0.5
        The time ``transform`` takes its input to be at.
    device : str, default="auto"
        ``"auto"`` (CUDA if available), ``"cpu"``, ``"cuda"``, ...
    random_state : int, RandomState or None, default=None
        Seeds initialisation, the split, batches, training noise and the
        scoring noise (``None`` scores with seed 0).
    verbose : int, default=0
        ``> 0`` shows a tqdm progress bar over epochs.

    Attributes
    ----------
    network_ : torch.nn.Module
    lattice_ : Lattice
    path_ : DiffusionPath
    offset_, scale_ : float
        The scalar standardisation ``u = (x - offset_) / scale_``.
    loss_curve_, validation_curve_ : list of float
        Training and held-out loss per epoch.
    n_epochs_ : int
        Epochs run.
    n_features_in_ : int
    """

    def __init__(self, lattice_shape=None, radius=1, n_channels=1, periodic=False, width=32,
                 depth=2, position_channels=0, schedule="linear", t_min=0.01, t_max=1.0,
                 epochs=50, batch_size=64,
                 learning_rate=2e-3, max_grad_norm=None, validation_fraction=0.1,
                 n_iter_no_change=10,
                 eval_times=(0.1, 0.3, 0.5, 0.7, 0.9), transform_t=0.5, device="auto",
                 random_state=None, verbose=0):
        self.lattice_shape = lattice_shape
        self.radius = radius
        self.n_channels = n_channels
        self.periodic = periodic
        self.width = width
        self.depth = depth
        self.position_channels = position_channels
        self.schedule = schedule
        self.t_min = t_min
        self.t_max = t_max
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_grad_norm = max_grad_norm
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.eval_times = eval_times
        self.transform_t = transform_t
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # -- helpers ---------------------------------------------------------------
    def _radius(self):
        return check_radius(getattr(self, "radius", None))

    def _validate_params(self):
        _check_positive(self.width, "width", integral=True)
        _check_positive(self.depth, "depth", integral=True, allow_zero=True)
        _check_positive(self.position_channels, "position_channels", integral=True,
                        allow_zero=True)
        _check_positive(self.epochs, "epochs", integral=True, allow_zero=True)
        _check_positive(self.batch_size, "batch_size", integral=True)
        _check_positive(self.learning_rate, "learning_rate")
        if self.max_grad_norm is not None:
            _check_positive(self.max_grad_norm, "max_grad_norm")
        if self.n_iter_no_change is not None:
            _check_positive(self.n_iter_no_change, "n_iter_no_change", integral=True)
        vf = self.validation_fraction
        if not isinstance(vf, numbers.Real) or not 0 <= vf < 1:
            raise ValueError(f"validation_fraction={vf!r} must be a number in [0, 1)")
        t_min, t_max = check_times([self.t_min, self.t_max], "(t_min, t_max)")
        if t_min > t_max:
            raise ValueError(f"t_min={self.t_min!r} must be <= t_max={self.t_max!r}")
        if t_max <= 0:
            raise ValueError(f"t_max={self.t_max!r} must be > 0 (t = 0 carries no noise)")

    def _to_grid(self, X: np.ndarray) -> torch.Tensor:
        lat = self.lattice_
        a = torch.tensor(X, dtype=torch.float32).reshape(len(X), *lat.shape, lat.n_channels)
        return a.movedim(-1, 1).contiguous()

    def _from_grid(self, a: torch.Tensor) -> np.ndarray:
        return a.movedim(1, -1).reshape(a.shape[0], -1).detach().cpu().double().numpy()

    def _coefs(self, t: np.ndarray):
        """``(c_in, c_skip, c_out, alpha', sigma')`` in standardised units, each (n,)."""
        a = np.broadcast_to(np.asarray(self.path_.alpha(t), dtype=float), np.shape(t))
        s = np.broadcast_to(np.asarray(self.path_.sigma(t), dtype=float), np.shape(t)) / self.scale_
        v = a**2 + s**2
        return 1 / np.sqrt(v), a / v, s / np.sqrt(v), a, s

    def _batch_loss(self, u0: torch.Tensor, t: np.ndarray, z: torch.Tensor) -> torch.Tensor:
        c_in, c_skip, c_out, a, s = (self._col(c, u0) for c in self._coefs(t))
        ut = a * u0 + s * z
        target = (u0 - c_skip * ut) / c_out
        out = self.network_(c_in * ut, torch.as_tensor(t, dtype=torch.float32, device=u0.device))
        return ((out - target) ** 2).flatten(1).mean(dim=1)

    @staticmethod
    def _col(c, like: torch.Tensor) -> torch.Tensor:
        c = torch.as_tensor(np.asarray(c, dtype=np.float32), device=like.device)
        return c.view((-1,) + (1,) * (like.ndim - 1))

    def _build(self):
        lat = self.lattice_
        return build_network(lat.shape, lat.n_channels, self._radius(), int(self.width),
                             int(self.depth), lat.periodic, int(self.position_channels))

    # -- fit -------------------------------------------------------------------
    def fit(self, X, y=None):
        """Train on clean samples ``X`` of shape ``(n_samples, n_features)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self
        """
        X = self._fit_common(X)
        self._validate_params()
        self._radius()
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        self.device_ = str(resolve_device(self.device))
        dev = torch.device(self.device_)
        self.offset_ = float(X.mean())
        sd = float(X.std())
        self.scale_ = sd if sd > 0 else 1.0

        n = X.shape[0]
        n_val = int(np.floor(self.validation_fraction * n))
        perm = rng.permutation(n)
        val_idx, tr_idx = perm[:n_val], perm[n_val:]
        U = self._to_grid((X - self.offset_) / self.scale_)

        gen = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng(devices=[]):  # seeded init, global RNG state untouched
            torch.manual_seed(seed)
            self.network_ = self._build().to(dev)
        opt = torch.optim.Adam(self.network_.parameters(), lr=float(self.learning_rate))
        epochs = int(self.epochs)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(epochs, 1))
        U_tr = U[tr_idx].to(dev)
        U_val = U[val_idx].to(dev)
        t_lo, t_hi = float(self.t_min), float(self.t_max)
        t_lo = max(t_lo, 1e-4) if t_hi > 1e-4 else t_lo
        # fixed validation noise and times (a repeatable early-stopping criterion)
        t_val = np.linspace(t_lo, t_hi, 8)
        z_val = torch.randn((8, *U_val.shape), generator=gen).to(dev)

        self.loss_curve_, self.validation_curve_ = [], []
        best, best_state, stale = np.inf, None, 0
        bs = int(self.batch_size)
        iterator = range(epochs)
        if self.verbose:
            from tqdm.auto import tqdm

            iterator = tqdm(iterator, desc=f"{type(self).__name__}(r={self._radius()})")
        self.n_epochs_ = 0
        for _ in iterator:
            self.network_.train()
            order = torch.randperm(len(U_tr), generator=gen)
            total = 0.0
            for start in range(0, len(U_tr), bs):
                idx = order[start:start + bs]
                u0 = U_tr[idx.to(dev)]
                t = t_lo + (t_hi - t_lo) * torch.rand(len(idx), generator=gen,
                                                      dtype=torch.float64).numpy()
                z = torch.randn(u0.shape, generator=gen).to(dev)
                loss = self._batch_loss(u0, t, z).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if self.max_grad_norm is not None:
                    torch.nn.utils.clip_grad_norm_(self.network_.parameters(),
                                                   float(self.max_grad_norm))
                opt.step()
                total += float(loss.detach()) * len(idx)
            sched.step()
            self.n_epochs_ += 1
            self.loss_curve_.append(total / max(len(U_tr), 1))
            crit = self.loss_curve_[-1]
            if n_val > 0:
                crit = self._validation_loss(U_val, t_val, z_val)
                self.validation_curve_.append(crit)
            if self.verbose:
                iterator.set_postfix(loss=f"{self.loss_curve_[-1]:.4f}", val=f"{crit:.4f}")
            if not np.isfinite(best) or crit < best - 1e-6 * abs(best):
                best, stale = crit, 0
                best_state = copy.deepcopy(self.network_.state_dict())
            else:
                stale += 1
                if self.n_iter_no_change is not None and stale >= self.n_iter_no_change:
                    break
        if best_state is not None:
            self.network_.load_state_dict(best_state)
        self.network_.eval()
        return self

    @torch.no_grad()
    def _validation_loss(self, U_val, t_val, z_val) -> float:
        self.network_.eval()
        losses = [self._batch_loss(U_val, np.full(len(U_val), t), z).mean().item()
                  for t, z in zip(t_val, z_val, strict=True)]
        return float(np.mean(losses))

    # -- inference ----------------------------------------------------------------
    @torch.no_grad()
    def _denoise(self, X: np.ndarray, t: float) -> np.ndarray:
        a, s = float(self.path_.alpha(t)), float(self.path_.sigma(t))
        if s == 0:
            return X.copy()
        c_in, c_skip, c_out, _, _ = (float(c) for c in self._coefs(np.float64(t)))
        dev = next(self.network_.parameters()).device
        out = np.empty_like(X)
        step = 1024
        for start in range(0, len(X), step):
            ut = self._to_grid((X[start:start + step] - a * self.offset_) / self.scale_).to(dev)
            tt = torch.full((len(ut),), t, dtype=torch.float32, device=dev)
            u0 = c_skip * ut + c_out * self.network_(c_in * ut, tt)
            out[start:start + step] = self._from_grid(u0) * self.scale_ + self.offset_
        return out

    def predict_noise(self, X, t) -> np.ndarray:
        """The noise estimate ``eps_hat = (x_t - alpha x0_hat) / sigma`` for ``X`` as x_t."""
        x0 = self.denoise(X, t)
        a, s = float(self.path_.alpha(t)), float(self.path_.sigma(t))
        if s == 0:
            raise ValueError(f"t={t!r} has sigma(t) = 0: the noise is undefined there")
        return (np.asarray(X, dtype=float) - a * x0) / s

    # -- persistence ------------------------------------------------------------------
    _FITTED_SCALARS = ("n_features_in_", "offset_", "scale_", "eval_seed_", "n_epochs_")

    def __getstate__(self):
        state = self.__dict__.copy()
        net = state.pop("network_", None)
        if net is not None:
            state["_network_state"] = {k: v.detach().cpu().clone()
                                       for k, v in net.state_dict().items()}
        return state

    def __setstate__(self, state):
        net_state = state.pop("_network_state", None)
        self.__dict__.update(state)
        if net_state is not None:
            try:
                dev = resolve_device(self.device)
            except ValueError:  # pragma: no cover
                dev = torch.device("cpu")
            if dev.type == "cuda" and not torch.cuda.is_available():
                dev = torch.device("cpu")  # a GPU-trained pickle loads on a CPU-only machine
            self.device_ = str(dev)
            self.network_ = self._build()
            self.network_.load_state_dict(net_state)
            self.network_.to(dev).eval()

    def save(self, path) -> None:
        """Write parameters and weights with ``torch.save`` (loadable with ``weights_only=True``).

        Parameters must be plain (str, numbers, bools, None, tuples/lists of
        those); a ``DiffusionPath`` instance as ``schedule`` is not supported here.
        """
        check_is_fitted(self)
        params = self.get_params()
        try:
            params_json = json.dumps(params, default=lambda o: o.tolist()
                                     if isinstance(o, np.ndarray) else _raise(o))
        except TypeError as exc:
            raise TypeError(f"save needs plain parameters: {exc}") from None
        fitted = {k: getattr(self, k) for k in self._FITTED_SCALARS}
        payload = {
            "class": type(self).__name__,
            "params": params_json,
            "fitted": json.dumps(fitted),
            "lattice": json.dumps([list(self.lattice_.shape), self.lattice_.n_channels,
                                   self.lattice_.periodic]),
            "state_dict": {k: v.detach().cpu() for k, v in self.network_.state_dict().items()},
        }
        torch.save(payload, path)

    @classmethod
    def load(cls, path, device="auto"):
        """Read a model written by :meth:`save` (``torch.load(weights_only=True)``)."""
        from ..diffusion import get_path
        from ..lattice import Lattice

        payload = torch.load(path, map_location="cpu", weights_only=True)
        if payload.get("class") != cls.__name__:
            raise ValueError(f"{path!r} holds a {payload.get('class')!r}, not a {cls.__name__}")
        params = json.loads(payload["params"])
        for key in ("lattice_shape", "eval_times"):
            if isinstance(params.get(key), list):
                params[key] = tuple(params[key])
        params["device"] = device
        est = cls(**params)
        for k, v in json.loads(payload["fitted"]).items():
            setattr(est, k, v)
        shape, k, periodic = json.loads(payload["lattice"])
        est.lattice_ = Lattice(tuple(shape), k, periodic)
        est.path_ = get_path(est.schedule)
        est.loss_curve_, est.validation_curve_ = [], []
        dev = resolve_device(device)
        est.device_ = str(dev)
        est.network_ = est._build()
        est.network_.load_state_dict(payload["state_dict"])
        est.network_.to(dev).eval()
        return est

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


def _raise(o):
    raise TypeError(f"{o!r} is not JSON serialisable")


class GlobalDenoiser(LocalDenoiser):
    """The global (full receptive field) counterpart of :class:`LocalDenoiser`.

    Same parameters but ``radius`` (fixed to ``None``), ``depth`` and
    ``position_channels`` (unused):
    the network is a small U-Net with a global pooling branch
    (:class:`~markovphase.denoisers.networks.GlobalScoreNet`).
    """

    def __init__(self, lattice_shape=None, n_channels=1, periodic=False, width=32,
                 schedule="linear", t_min=0.01, t_max=1.0, epochs=50, batch_size=64,
                 learning_rate=2e-3, max_grad_norm=None, validation_fraction=0.1,
                 n_iter_no_change=10,
                 eval_times=(0.1, 0.3, 0.5, 0.7, 0.9), transform_t=0.5, device="auto",
                 random_state=None, verbose=0):
        self.lattice_shape = lattice_shape
        self.n_channels = n_channels
        self.periodic = periodic
        self.width = width
        self.schedule = schedule
        self.t_min = t_min
        self.t_max = t_max
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_grad_norm = max_grad_norm
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.eval_times = eval_times
        self.transform_t = transform_t
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    depth = 0  # class attributes: unused by the global network
    position_channels = 0

    def _radius(self):
        return None


# keep the lattice helper importable from here for callers that build grids
__all__ += ["resolve_lattice"]
