"""Time-conditioned denoising networks on lattices (torch modules).

Two families, both mapping ``(u, t)`` with ``u`` of shape
``(batch, n_channels, *lattice_shape)`` and ``t`` of shape ``(batch,)`` to a
tensor of the same shape as ``u``:

* :class:`LocalScoreNet` — receptive field *exactly* the L-infinity ball of
  radius ``r`` around each output site, for every ``r >= 0``. The stack is
  ``r`` convolutions of kernel 3 (each widens the field by one site per side),
  then ``depth`` 1x1 convolutions, then a 1x1 output convolution; ``r = 0``
  uses only 1x1 convolutions. Zero padding (open lattices) or circular padding
  (periodic lattices) keeps every layer the size of the lattice, so the border
  is handled the same way at every depth and no input outside the ball can
  reach an output (tested by autograd). With ``position_channels = m > 0`` a
  learnable per-site embedding of ``m`` channels is concatenated to the input
  and a learnable per-site bias is added to the output: both are constants of
  the site (not functions of the input), so the receptive field is unchanged,
  but the network is no longer translation-equivariant and can represent
  position-dependent statistics (MNIST's mean digit, border effects).
* :class:`GlobalScoreNet` — full receptive field: a small U-Net (stride-2
  downsampling until the lattice is at most 2 sites per axis, nearest
  upsampling with skip connections) plus a global-average-pooling branch at
  the bottom so every input site reaches every output site on any lattice.

Time enters through FiLM: a sinusoidal embedding of ``t`` goes through a
two-layer MLP that outputs a per-channel scale and shift for every hidden
layer (``h <- h * (1 + scale) + shift``). Being per channel and constant over
sites, it does not change the receptive field.

Both work for 1-D, 2-D and 3-D lattices (``Conv1d/2d/3d``).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["LocalScoreNet", "GlobalScoreNet", "TimeEmbedding", "build_network"]

_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}


def _conv(ndim: int, c_in: int, c_out: int, kernel: int, periodic: bool, stride: int = 1):
    if ndim not in _CONV:
        raise ValueError(f"lattices of {ndim} dimensions are not supported; expected 1, 2 or 3")
    return _CONV[ndim](
        c_in, c_out, kernel, stride=stride, padding=kernel // 2,
        padding_mode="circular" if (periodic and kernel > 1) else "zeros",
    )


class TimeEmbedding(nn.Module):
    """Sinusoidal features of ``t`` in [0, 1] followed by a two-layer MLP.

    ``forward(t)`` returns ``(batch, n_out)``; frequencies are
    ``pi * 2**k`` for ``k = 0 .. n_freq - 1``.
    """

    def __init__(self, n_out: int, n_freq: int = 8, hidden: int = 64):
        super().__init__()
        self.register_buffer("freqs", math.pi * 2.0 ** torch.arange(n_freq, dtype=torch.float32))
        self.mlp = nn.Sequential(nn.Linear(2 * n_freq + 1, hidden), nn.SiLU(),
                                 nn.Linear(hidden, n_out))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        a = t[:, None] * self.freqs[None, :]
        return self.mlp(torch.cat([t[:, None], torch.sin(a), torch.cos(a)], dim=1))


def _film(h: torch.Tensor, ss: torch.Tensor) -> torch.Tensor:
    """``h * (1 + scale) + shift`` with ``ss = [scale, shift]`` of shape (batch, 2 * channels)."""
    scale, shift = ss.chunk(2, dim=1)
    view = (h.shape[0], h.shape[1]) + (1,) * (h.ndim - 2)
    return h * (1 + scale.view(view)) + shift.view(view)


class LocalScoreNet(nn.Module):
    """Convolutional network whose receptive radius is exactly ``radius`` sites (L-infinity).

    Parameters
    ----------
    ndim : int
        Lattice dimension (1, 2 or 3).
    n_channels : int
        Channels per site (input and output).
    radius : int
        Receptive radius r >= 0: output site p depends on input site q iff
        ``max_axis |p - q| <= r`` (distance taken modulo the side when periodic).
    width : int, default=32
        Hidden channels.
    depth : int, default=2
        Extra 1x1 (pointwise) hidden layers after the ``r`` 3x3 layers.
    periodic : bool, default=False
        Circular padding (torus) instead of zero padding.
    position_channels : int, default=0
        ``m > 0`` adds a learnable per-site embedding ``E`` of shape
        ``(m, *lattice_shape)`` (initialised ``N(0, 0.1^2)``), concatenated to
        the input channels, and a learnable per-site output bias ``b`` of shape
        ``(n_channels, *lattice_shape)`` (initialised 0):
        ``out = F([u, E], t) + b``. Neither depends on the input, so
        ``d out_p / d u_q = 0`` for ``|p - q|_inf > r`` still holds.
    lattice_shape : tuple of int or None
        Spatial shape; required when ``position_channels > 0``.
    """

    def __init__(self, ndim: int, n_channels: int, radius: int, width: int = 32, depth: int = 2,
                 periodic: bool = False, position_channels: int = 0, lattice_shape=None):
        super().__init__()
        if int(radius) < 0:
            raise ValueError(f"radius={radius!r} must be >= 0")
        if int(position_channels) < 0:
            raise ValueError(f"position_channels={position_channels!r} must be >= 0")
        self.radius = int(radius)
        self.position_channels = int(position_channels)
        if self.position_channels:
            if lattice_shape is None or len(tuple(lattice_shape)) != ndim:
                raise ValueError(f"lattice_shape={lattice_shape!r} must be a tuple of {ndim} "
                                 "ints when position_channels > 0")
            shape = tuple(int(s) for s in lattice_shape)
            self.position = nn.Parameter(0.1 * torch.randn(self.position_channels, *shape))
            self.out_bias = nn.Parameter(torch.zeros(n_channels, *shape))
        kernels = [3] * self.radius + [1] * int(depth)
        if not kernels:
            kernels = [1]
        layers, c_in = [], n_channels + self.position_channels
        for k in kernels:
            layers.append(_conv(ndim, c_in, width, k, periodic))
            c_in = width
        self.layers = nn.ModuleList(layers)
        self.out = _conv(ndim, width, n_channels, 1, periodic)
        self.temb = TimeEmbedding(2 * width * len(layers))
        self.act = nn.SiLU()

    def forward(self, u: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        films = self.temb(t).chunk(len(self.layers), dim=1)
        h = u
        if self.position_channels:
            pos = self.position.to(u.dtype).unsqueeze(0).expand(u.shape[0], *self.position.shape)
            h = torch.cat([u, pos], dim=1)
        for layer, ss in zip(self.layers, films, strict=True):
            h = self.act(_film(layer(h), ss))
        out = self.out(h)
        if self.position_channels:
            out = out + self.out_bias.to(u.dtype)
        return out


class _Block(nn.Module):
    def __init__(self, ndim, c_in, c_out, periodic):
        super().__init__()
        self.c1 = _conv(ndim, c_in, c_out, 3, periodic)
        self.c2 = _conv(ndim, c_out, c_out, 3, periodic)
        self.act = nn.SiLU()

    def forward(self, h, ss):
        h = self.act(_film(self.c1(h), ss))
        return self.act(self.c2(h))


class GlobalScoreNet(nn.Module):
    """Small U-Net with a global pooling branch: every input site reaches every output.

    Encoder level ``i`` has ``width * 2**min(i, 2)`` channels and two 3x3
    convolutions; levels are added (stride-2 downsampling) until every axis
    has at most 2 sites or ``max_levels`` is reached. At the bottom, the
    spatial mean of the features goes through a linear layer and is added
    back at every site (full receptive field on any lattice size). The decoder
    upsamples (nearest, to the skip's exact size), concatenates the skip and
    applies two 3x3 convolutions.

    Parameters
    ----------
    ndim, n_channels, width, periodic
        As for :class:`LocalScoreNet`.
    lattice_shape : tuple of int
        Spatial shape (fixes the number of levels).
    max_levels : int, default=3
        Most downsampling steps.
    """

    def __init__(self, ndim: int, n_channels: int, lattice_shape, width: int = 32,
                 periodic: bool = False, max_levels: int = 3):
        super().__init__()
        shape = list(lattice_shape)
        n_levels = 0
        while n_levels < max_levels and max(shape) > 2:
            shape = [(s + 1) // 2 for s in shape]
            n_levels += 1
        chans = [width * 2 ** min(i, 2) for i in range(n_levels + 1)]
        self.inp = _conv(ndim, n_channels, width, 3, periodic)
        self.enc = nn.ModuleList([
            _Block(ndim, width if i == 0 else chans[i - 1], chans[i], periodic)
            for i in range(n_levels + 1)])
        self.down = nn.ModuleList([_conv(ndim, chans[i], chans[i], 3, periodic, stride=2)
                                   for i in range(n_levels)])
        self.pool = nn.Linear(chans[-1], chans[-1])
        self.dec = nn.ModuleList([_Block(ndim, chans[i + 1] + chans[i], chans[i], periodic)
                                  for i in reversed(range(n_levels))])
        self.out = _conv(ndim, width, n_channels, 1, periodic)
        self._film_sizes = ([2 * c for c in chans]
                            + [2 * chans[i] for i in reversed(range(n_levels))])
        self.temb = TimeEmbedding(sum(self._film_sizes))
        self.act = nn.SiLU()

    def forward(self, u: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        films = list(torch.split(self.temb(t), self._film_sizes, dim=1))
        h = self.act(self.inp(u))
        skips = []
        for i, block in enumerate(self.enc):
            h = block(h, films.pop(0))
            if i < len(self.down):
                skips.append(h)
                h = self.down[i](h)
        g = self.pool(h.flatten(2).mean(dim=2))
        h = h + g.view(g.shape + (1,) * (h.ndim - 2))
        for block in self.dec:
            skip = skips.pop()
            h = F.interpolate(h, size=skip.shape[2:], mode="nearest")
            h = block(torch.cat([h, skip], dim=1), films.pop(0))
        return self.out(h)


def build_network(lattice_shape, n_channels: int, radius, width: int, depth: int,
                  periodic: bool, position_channels: int = 0) -> nn.Module:
    """A :class:`LocalScoreNet` for an integer ``radius``; :class:`GlobalScoreNet` for None.

    ``position_channels`` applies to the local network only (the global one
    already sees every site and its zero-padded border).
    """
    ndim = len(lattice_shape)
    if radius is None:
        return GlobalScoreNet(ndim, n_channels, lattice_shape, width=width, periodic=periodic)
    return LocalScoreNet(ndim, n_channels, radius, width=width, depth=depth, periodic=periodic,
                         position_channels=position_channels, lattice_shape=tuple(lattice_shape))
