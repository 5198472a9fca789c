"""What a sampler may ask of a denoiser: ``denoise(X, t)`` and, optionally, ``flops``.

* ``denoise(X, t)`` -- the posterior-mean estimate ``x0_hat = E[x0 | x_t = X]``
  of the clean sample from rows ``X`` taken as ``x_t`` at time ``t`` (data
  units). Every denoiser of :mod:`markovphase.denoisers` has it; an object
  with ``predict_x0(X, t)`` instead, or a plain callable ``f(X, t)``, is
  wrapped by :func:`as_denoiser`.
* ``flops(n_samples, t)`` -- floating-point operations of one such call (a
  multiply-add is 2). The denoisers of this package compute their own
  (closed-form counts, or the torch FLOP counter on their network);
  :func:`denoiser_flops` asks for it, counts a torch network (``network_``)
  it finds on another object, and gives NaN otherwise.
"""

from __future__ import annotations

import weakref
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["Denoiser", "CountsFlops", "as_denoiser", "denoiser_flops",
           "torch_flops_per_sample"]


@runtime_checkable
class Denoiser(Protocol):
    """Anything with ``denoise(X, t) -> x0_hat`` (the sampler's one requirement)."""

    def denoise(self, X, t) -> np.ndarray: ...


@runtime_checkable
class CountsFlops(Protocol):
    """A denoiser that reports the cost of its calls."""

    def flops(self, n_samples: int, t: float) -> float: ...


class _Adapter:
    """Gives ``denoise(X, t)`` to an object with ``predict_x0`` or to a callable."""

    def __init__(self, obj, fn):
        self.obj, self._fn = obj, fn
        self.n_features_in_ = getattr(obj, "n_features_in_", None)

    def denoise(self, X, t):
        return self._fn(X, t)

    def __repr__(self):
        return f"as_denoiser({self.obj!r})"


def as_denoiser(obj) -> Denoiser:
    """``obj`` as an object with ``denoise(X, t) -> x0_hat`` (see the module docstring).

    Accepts anything with ``denoise``, an object with ``predict_x0(X, t)``, or a
    callable ``f(X, t)``. Raises ``TypeError`` otherwise.
    """
    if callable(getattr(obj, "denoise", None)):
        return obj
    if callable(getattr(obj, "predict_x0", None)):
        return _Adapter(obj, obj.predict_x0)
    if callable(obj):
        return _Adapter(obj, obj)
    raise TypeError(f"{obj!r} is not a denoiser: expected an object with denoise(X, t) "
                    "(posterior mean of x0) or predict_x0(X, t), or a callable f(X, t)")


_TORCH_FLOPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # network -> FLOPs/row


def torch_flops_per_sample(denoiser, network, n_features: int, t: float) -> float:
    """FLOPs per row of ``denoiser.denoise`` whose work is the torch module ``network``.

    Counted once per network with :class:`torch.utils.flop_counter.FlopCounterMode`
    on a 2-row probe at ``t`` (0.5 when ``t = 0``) and halved: convolutions and
    MLPs are linear in the batch. The count is cached per network (weakly).
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    if network not in _TORCH_FLOPS:
        probe = np.random.default_rng(0).standard_normal((2, n_features))
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            denoiser.denoise(probe, t if t > 0 else 0.5)
        _TORCH_FLOPS[network] = counter.get_total_flops() / 2.0
    return _TORCH_FLOPS[network]


def denoiser_flops(denoiser, n_samples: int, t: float, n_features: int) -> float:
    """FLOPs of ``denoiser.denoise`` on ``n_samples`` rows at ``t`` (NaN when unknown).

    The denoiser's own ``flops(n_samples, t)`` (:class:`CountsFlops`) first;
    else the torch FLOP counter when it has a ``network_`` torch module; else NaN.
    """
    obj = denoiser.obj if isinstance(denoiser, _Adapter) else denoiser
    if isinstance(obj, CountsFlops):
        return float(obj.flops(n_samples, t))
    import torch

    net = getattr(obj, "network_", None)
    if isinstance(net, torch.nn.Module):
        return n_samples * torch_flops_per_sample(obj, net, n_features, t)
    return float("nan")
