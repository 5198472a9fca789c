"""Trained denoising networks as scikit-learn estimators: the shared base.

:class:`NetworkDenoiser` holds what :class:`~markovphase.denoisers.LocalDenoiser`
and :class:`~markovphase.denoisers.GlobalDenoiser` share (parameters, training
loop, inference, persistence, FLOP count), as skorch's ``NeuralNet`` does for
its classifier and regressor; a subclass says which network it builds
(:meth:`NetworkDenoiser._build`) and its receptive radius.

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
import os

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..device import resolve_device
from ..diffusion import DEPRECATED, check_times, resolve_path
from ..lattice import Lattice
from ..seeding import draw_seed
from .base import BaseDenoiser, store_params
from .protocol import torch_flops_per_sample

__all__ = ["NetworkDenoiser", "check_positive"]


def check_positive(value, name, integral=False, allow_zero=False):
    """Raise ``ValueError`` unless ``value`` is a number (an integer when ``integral``)
    ``> 0`` (``>= 0`` with ``allow_zero``)."""
    kind = numbers.Integral if integral else numbers.Real
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name}={value!r} must be a {'n integer' if integral else ' number'} "
                         f"{'>= 0' if allow_zero else '> 0'}")


def _not_json(o):
    raise TypeError(f"{o!r} is not JSON serialisable")


def ema_decay_at(decay: float, k: int) -> float:
    """The decay of the ``k``-th update of the moving average (``k = 1, 2, ...``).

    ``d_k = min(decay, (1 + k) / (10 + k))``: the warm-up of the TensorFlow and
    diffusers ``ExponentialMovingAverage``. Without it the average keeps a weight
    ``decay**n`` on the first iterate after ``n`` steps (3 % for 0.999 after
    3,500 steps, with much more on the early, barely trained iterates); with it the
    early iterates are forgotten at the rate of a short average, and the horizon
    grows to ``1 / (1 - decay)`` steps after about ``10 / (1 - decay)`` of them.
    """
    return min(float(decay), (1.0 + k) / (10.0 + k))


def ema_warmup_update(decay: float):
    """A ``multi_avg_fn`` for ``torch.optim.swa_utils.AveragedModel``:
    ``w_ema <- d_k w_ema + (1 - d_k) w`` with ``d_k`` from :func:`ema_decay_at`
    (``k`` is the number of updates averaged so far; the first update copies ``w``)."""

    @torch.no_grad()
    def update(ema_params, params, num_averaged):
        d = ema_decay_at(decay, int(num_averaged))
        torch._foreach_lerp_(ema_params, params, 1.0 - d)

    return update


class NetworkDenoiser(BaseDenoiser):
    """Base of the trained denoising networks; use :class:`LocalDenoiser` or
    :class:`GlobalDenoiser` (their docstrings list the parameters and attributes).

    Subclasses implement :meth:`_radius` and :meth:`_build`.
    """

    def __init__(self, lattice_shape=None, n_channels=1, periodic=False, width=32,
                 path="linear", t_min=0.01, t_max=1.0, epochs=50, batch_size=64,
                 learning_rate=2e-3, max_grad_norm=None, ema_decay=None,
                 validation_fraction=0.1, n_iter_no_change=10,
                 eval_times=(0.1, 0.3, 0.5, 0.7, 0.9), transform_t=0.5,
                 device="auto", random_state=None, verbose=0, schedule=DEPRECATED):
        store_params(self, locals())

    # -- what a subclass says -----------------------------------------------------------
    def _radius(self):
        """The receptive radius: an int, or ``None`` for the whole lattice."""
        raise NotImplementedError

    def _build(self) -> torch.nn.Module:
        """The untrained network for ``self.lattice_``."""
        raise NotImplementedError

    # -- helpers ---------------------------------------------------------------
    def _validate_params(self):
        check_positive(self.width, "width", integral=True)
        check_positive(self.epochs, "epochs", integral=True, allow_zero=True)
        check_positive(self.batch_size, "batch_size", integral=True)
        check_positive(self.learning_rate, "learning_rate")
        if self.max_grad_norm is not None:
            check_positive(self.max_grad_norm, "max_grad_norm")
        ed = self.ema_decay
        if ed is not None and (not isinstance(ed, numbers.Real) or isinstance(ed, bool)
                               or not 0 < ed < 1):
            raise ValueError(f"ema_decay={ed!r} must be None or a number in (0, 1)")
        if self.n_iter_no_change is not None:
            check_positive(self.n_iter_no_change, "n_iter_no_change", integral=True)
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

    def _batch_loss(self, u0: torch.Tensor, t: np.ndarray, z: torch.Tensor,
                    net: torch.nn.Module | None = None) -> torch.Tensor:
        """Per-row training loss of ``net`` (default ``network_``)."""
        net = self.network_ if net is None else net
        c_in, c_skip, c_out, a, s = (self._col(c, u0) for c in self._coefs(t))
        ut = a * u0 + s * z
        target = (u0 - c_skip * ut) / c_out
        out = net(c_in * ut, torch.as_tensor(t, dtype=torch.float32, device=u0.device))
        return ((out - target) ** 2).flatten(1).mean(dim=1)

    @staticmethod
    def _col(c, like: torch.Tensor) -> torch.Tensor:
        c = torch.as_tensor(np.asarray(c, dtype=np.float32), device=like.device)
        return c.view((-1,) + (1,) * (like.ndim - 1))

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
        radius, top = self._radius(), self.lattice_.covering_radius()
        if radius is not None and radius > top:
            raise ValueError(
                f"radius={radius} is too large for the lattice {self.lattice_.shape} of "
                f"{self.lattice_.n_features} feature(s): radius {top} already sees every site; "
                f"use radius <= {top} (or GlobalDenoiser)")
        rng = check_random_state(self.random_state)
        seed = draw_seed(rng)
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
        # the weights that are validated, kept and used: an exponential moving average
        # of the iterates (Polyak averaging, as in Ho et al. 2020 and Karras et al. 2022)
        # when ema_decay is set, else the iterates themselves
        ema = None if self.ema_decay is None else torch.optim.swa_utils.AveragedModel(
            self.network_, multi_avg_fn=ema_warmup_update(float(self.ema_decay)),
            use_buffers=True)
        kept = self.network_ if ema is None else ema.module
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
                if ema is not None:
                    ema.update_parameters(self.network_)
                total += float(loss.detach()) * len(idx)
            sched.step()
            self.n_epochs_ += 1
            self.loss_curve_.append(total / max(len(U_tr), 1))
            crit = self.loss_curve_[-1]
            if n_val > 0:
                crit = self._validation_loss(kept, U_val, t_val, z_val)
                self.validation_curve_.append(crit)
            if self.verbose:
                iterator.set_postfix(loss=f"{self.loss_curve_[-1]:.4f}", val=f"{crit:.4f}")
            if not np.isfinite(best) or crit < best - 1e-6 * abs(best):
                best, stale = crit, 0
                best_state = copy.deepcopy(kept.state_dict())
            else:
                stale += 1
                if self.n_iter_no_change is not None and stale >= self.n_iter_no_change:
                    break
        if best_state is not None:  # None only when no epoch ran: the initial network
            self.network_.load_state_dict(best_state)
        self.network_.eval()
        return self

    @torch.no_grad()
    def _validation_loss(self, net, U_val, t_val, z_val) -> float:
        """The training loss of ``net`` on the held-out rows, averaged over the fixed
        validation times and noise."""
        net.eval()
        losses = [self._batch_loss(U_val, np.full(len(U_val), t), z, net).mean().item()
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
        those); a ``DiffusionPath`` instance as ``path`` is not supported here.
        """
        check_is_fitted(self)
        params = self.get_params()
        try:
            params_json = json.dumps(params, default=lambda o: o.tolist()
                                     if isinstance(o, np.ndarray) else _not_json(o))
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
        """Read a model written by :meth:`save` (``torch.load(weights_only=True)``).

        A file written before the forward path was named ``path`` (its
        ``schedule`` parameter) loads with that value as ``path``.
        """
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise
        except Exception as exc:  # not a torch file, truncated, or unsafe content
            raise ValueError(f"{os.fspath(path)!r} is not a model file written by "
                             f"{cls.__name__}.save ({type(exc).__name__} while reading it)"
                             ) from None
        missing = ({"class", "params", "fitted", "lattice", "state_dict"} - set(payload)
                   if isinstance(payload, dict) else None)
        if missing is None or missing:
            raise ValueError(f"{os.fspath(path)!r} is not a model file written by "
                             f"{cls.__name__}.save (missing: {sorted(missing or ['all'])})")
        if payload.get("class") != cls.__name__:
            raise ValueError(f"{path!r} holds a {payload.get('class')!r}, not a {cls.__name__}")
        params = json.loads(payload["params"])
        if "path" not in params and "schedule" in params:
            params["path"] = params.pop("schedule")
        for key in ("lattice_shape", "eval_times"):
            if isinstance(params.get(key), list):
                params[key] = tuple(params[key])
        params["device"] = device
        est = cls(**params)
        for k, v in json.loads(payload["fitted"]).items():
            setattr(est, k, v)
        shape, k, periodic = json.loads(payload["lattice"])
        est.lattice_ = Lattice(tuple(shape), k, periodic)
        est.path_ = resolve_path(est.path, est.schedule, cls.__name__)
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

    # -- cost ---------------------------------------------------------------------------
    def flops(self, n_samples: int, t: float) -> float:
        """FLOPs of ``denoise`` on ``n_samples`` rows at ``t``: the network's count on a
        2-row probe (:func:`~markovphase.denoisers.protocol.torch_flops_per_sample`) times
        ``n_samples`` (convolutions and MLPs are linear in the batch)."""
        check_is_fitted(self)
        return n_samples * torch_flops_per_sample(self, self.network_, self.n_features_in_, t)
