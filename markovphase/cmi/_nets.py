"""Small torch networks for the neural and MINE CMI estimators (private).

Both estimators feed a *masked context* to a network: the standardised sample
``x`` multiplied by a 0/1 visibility mask ``m``, the mask itself and a one-hot
"target" marker, plus a small time embedding ``(t, alpha(t), sigma(t))``.
On a lattice the three parts are image planes and a small CNN reads them; on
plain vectors an MLP reads them concatenated.

The density head is a K-component Gaussian mixture for one scalar,
continuous or discretised onto a grid (for clean data with atoms).
"""

from __future__ import annotations

import math

import torch
from torch import nn

LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def _conv(ndim: int):
    return {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[ndim]


class MLPBody(nn.Module):
    """``[x*m, m, onehot, temb] -> hidden``; returns the last hidden layer."""

    def __init__(self, n_in: int, n_temb: int, hidden: tuple[int, ...]):
        super().__init__()
        layers, d = [], n_in + n_temb
        for h in hidden:
            layers += [nn.Linear(d, h), nn.SiLU()]
            d = h
        self.net = nn.Sequential(*layers)
        self.n_out = d

    def forward(self, planes: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([planes.flatten(1), temb], dim=1))


class CNNBody(nn.Module):
    """Strided CNN over the planes (any 1-3-D lattice) followed by a dense layer.

    Three stride-2 convolutions after a stride-1 one give a receptive field
    that covers lattices up to about 30 sites per side; the flattened feature
    map keeps positions, so the dense layer sees the whole context. The planes
    at ``local_sites`` (flat site indices, e.g. the sites within a few steps of
    the target) also go to the dense layer unconvolved, so the near context,
    which carries most of the information, is not squeezed through the strides.
    """

    def __init__(self, n_planes: int, shape: tuple[int, ...], n_temb: int, channels: int,
                 hidden: tuple[int, ...], local_sites=None):
        super().__init__()
        # the planes at the sites next to the target go to the dense layer directly
        local = torch.as_tensor([] if local_sites is None else local_sites, dtype=torch.long)
        self.register_buffer("local_sites", local, persistent=False)
        conv = _conv(len(shape))
        c = channels
        self.first = conv(n_planes, c, 3, padding=1)
        self.tbias = nn.Linear(n_temb, c)  # time enters as a per-channel bias of layer 1
        self.convs = nn.Sequential(
            nn.SiLU(),
            conv(c, c, 3, stride=2, padding=1), nn.SiLU(),
            conv(c, 2 * c, 3, stride=2, padding=1), nn.SiLU(),
            conv(2 * c, 2 * c, 3, stride=2, padding=1), nn.SiLU(),
        )
        size = list(shape)
        for _ in range(3):
            size = [(s - 1) // 2 + 1 for s in size]
        flat = 2 * c * int(math.prod(size))
        layers, d = [], flat + n_temb + n_planes * len(local)
        for h in hidden:
            layers += [nn.Linear(d, h), nn.SiLU()]
            d = h
        self.dense = nn.Sequential(*layers)
        self.shape = tuple(shape)
        self.n_out = d

    def forward(self, planes: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        b = planes.shape[0]
        bias = self.tbias(temb).view(b, -1, *([1] * len(self.shape)))
        h = self.convs(self.first(planes) + bias).flatten(1)
        near = planes.flatten(2)[:, :, self.local_sites].flatten(1)
        return self.dense(torch.cat([h, temb, near], dim=1))


class HeadNet(nn.Module):
    """A body followed by a linear head with ``n_out`` outputs."""

    def __init__(self, body: nn.Module, n_out: int):
        super().__init__()
        self.body = body
        self.head = nn.Linear(body.n_out, n_out)

    def forward(self, planes: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(planes, temb))


def _log_diff_ndtr(hi: torch.Tensor, lo: torch.Tensor) -> torch.Tensor:
    """``log(Phi(hi) - Phi(lo))`` for ``hi > lo``, stable in both tails."""
    swap = lo > 0  # upper tail: Phi(hi) - Phi(lo) = Phi(-lo) - Phi(-hi)
    h = torch.where(swap, -lo, hi)
    lw = torch.where(swap, -hi, lo)
    lh, ll = torch.special.log_ndtr(h), torch.special.log_ndtr(lw)
    d = torch.clamp(ll - lh, max=-1e-12)
    return lh + torch.log(-torch.expm1(d))


def mixture_nll(params: torch.Tensor, y: torch.Tensor, discrete: torch.Tensor,
                lo: torch.Tensor, hi: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood of ``y`` under a Gaussian mixture, per row (nats).

    ``params`` is ``(N, 3K)``: mixture logits, means, log-scales. Continuous
    rows: ``-log sum_k pi_k N(y; mu_k, s_k)``. Discrete rows (``discrete``
    True; values on the grid ``lo, lo + step, ..., hi``): the probability of
    the bin ``[y - step/2, y + step/2]``, the lowest and highest bins open to
    -inf / +inf, so atoms at the ends of the range (e.g. black pixels) get
    finite, exact probabilities.
    """
    k = params.shape[1] // 3
    logit, mu, log_s = params[:, :k], params[:, k:2 * k], params[:, 2 * k:]
    log_s = torch.clamp(log_s, -9.0, 5.0)
    inv_s = torch.exp(-log_s)
    log_pi = torch.log_softmax(logit, dim=1)
    yy = y[:, None]
    z = (yy - mu) * inv_s
    cont = -0.5 * z**2 - log_s - LOG_SQRT_2PI
    half = 0.5 * step[:, None]
    zhi = (yy + half - mu) * inv_s
    zlo = (yy - half - mu) * inv_s
    at_lo = (yy <= lo[:, None] + half)
    at_hi = (yy >= hi[:, None] - half)
    big = torch.full_like(zhi, 40.0)
    zhi = torch.where(at_hi, big, zhi)
    zlo = torch.where(at_lo, -big, zlo)
    disc = _log_diff_ndtr(zhi, zlo)
    logp = torch.where(discrete[:, None], disc, cont)
    return -torch.logsumexp(log_pi + logp, dim=1)
