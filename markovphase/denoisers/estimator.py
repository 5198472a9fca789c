"""Trained local and global denoisers (scikit-learn estimators built on torch networks).

Both are :class:`~markovphase.denoisers.network_base.NetworkDenoiser` subclasses
(training, preconditioning, persistence and FLOP count live there); this module
says which network each builds: :class:`LocalDenoiser` a convolution stack with
an exact receptive radius, :class:`GlobalDenoiser` a U-Net that sees every site.
"""

from __future__ import annotations

from ..diffusion import DEPRECATED
from ..lattice import resolve_lattice
from .base import check_radius, store_params
from .network_base import NetworkDenoiser, check_positive
from .networks import build_network

__all__ = ["LocalDenoiser", "GlobalDenoiser", "NetworkDenoiser", "network_denoiser",
           "LOCAL_ONLY_PARAMS", "resolve_lattice"]

#: parameters of the local network that the global one does not have
LOCAL_ONLY_PARAMS = ("radius", "depth", "position_channels")


class LocalDenoiser(NetworkDenoiser):
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
    path : str or DiffusionPath, default="linear"
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
    ema_decay : float in (0, 1) or None, default=None
        Keep an exponential moving average of the weights,
        ``w_ema <- d_k w_ema + (1 - d_k) w`` after step ``k`` with
        ``d_k = min(ema_decay, (1 + k) / (10 + k))`` (the usual warm-up, so that the
        barely trained early iterates are forgotten;
        ``torch.optim.swa_utils.AveragedModel``); the averaged weights are the
        ones validated, kept by early stopping and returned. 0.999 averages over
        about the last 1,000 steps. ``None``: the optimiser's own weights.
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
    schedule : str or DiffusionPath, default="deprecated"
        Deprecated spelling of ``path`` (``FutureWarning``; removed in the next release).

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
                 depth=2, position_channels=0, path="linear", t_min=0.01, t_max=1.0,
                 epochs=50, batch_size=64, learning_rate=2e-3, max_grad_norm=None,
                 ema_decay=None, validation_fraction=0.1, n_iter_no_change=10,
                 eval_times=(0.1, 0.3, 0.5, 0.7, 0.9), transform_t=0.5, device="auto",
                 random_state=None, verbose=0, schedule=DEPRECATED):
        store_params(self, locals())

    def _radius(self):
        return check_radius(self.radius)

    def _validate_params(self):
        super()._validate_params()
        check_positive(self.depth, "depth", integral=True, allow_zero=True)
        check_positive(self.position_channels, "position_channels", integral=True,
                       allow_zero=True)

    def _build(self):
        lat = self.lattice_
        return build_network(lat.shape, lat.n_channels, self._radius(), int(self.width),
                             int(self.depth), lat.periodic, int(self.position_channels))


class GlobalDenoiser(NetworkDenoiser):
    """The global (full receptive field) counterpart of :class:`LocalDenoiser`.

    The parameters of :class:`LocalDenoiser` but ``radius``, ``depth`` and
    ``position_channels`` (:data:`LOCAL_ONLY_PARAMS`): the network is a small
    U-Net with a global pooling branch
    (:class:`~markovphase.denoisers.networks.GlobalScoreNet`).
    """

    def _radius(self):
        return None

    def _build(self):
        lat = self.lattice_
        return build_network(lat.shape, lat.n_channels, None, int(self.width), 0, lat.periodic)


def network_denoiser(radius, **params) -> NetworkDenoiser:
    """A :class:`LocalDenoiser` of ``radius``, or for ``radius=None`` a :class:`GlobalDenoiser`
    (the local-only parameters of ``params``, :data:`LOCAL_ONLY_PARAMS`, are dropped then)."""
    if radius is None:
        return GlobalDenoiser(**{k: v for k, v in params.items() if k not in LOCAL_ONLY_PARAMS})
    return LocalDenoiser(radius=radius, **params)
