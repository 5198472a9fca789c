"""Inference FLOPs, inference wall time and training throughput: local networks of
radius r against the global U-Net on 28x28 images, measured in one run and printed
as ratios (global / local).

Widths: both families use the same base width (``--width``, default 64): the
local network has r 3x3 layers and ``--depth`` (default 2) 1x1 layers of that
width; the global network is the U-Net of
:class:`markovphase.denoisers.networks.GlobalScoreNet` with channels
(w, 2w, 4w, 4w) over 3 downsamplings (28 -> 14 -> 7 -> 4) and a pooling branch.
FLOPs are counted by ``torch.utils.flop_counter.FlopCounterMode`` (a
multiply-add counts 2) for one image; wall time is per image in batches of
``--batch``; training throughput is images per second of forward + backward +
Adam steps on batches of ``--batch``.

Run:  python benchmarks/denoiser_flops.py [--width 64] [--radii 1 3 6 13] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from markovphase import provenance
from markovphase.denoisers.networks import build_network

SHAPE = (28, 28)


def flops(net, batch=1) -> int:
    x = torch.randn(batch, 1, *SHAPE)
    t = torch.rand(batch)
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        net(x, t)
    return fc.get_total_flops() // batch


def infer_time(net, batch: int, repeats: int) -> float:
    x = torch.randn(batch, 1, *SHAPE)
    t = torch.rand(batch)
    with torch.no_grad():
        net(x, t)  # warm-up
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            net(x, t)
            best = min(best, time.perf_counter() - t0)
    return best / batch


def train_throughput(net, batch: int, steps: int) -> float:
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.randn(batch, 1, *SHAPE)
    t = torch.rand(batch)

    def step():
        loss = ((net(x, t) - x) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch / (time.perf_counter() - t0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--radii", type=int, nargs="+", default=[1, 3, 6, 13])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--train-steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    print(provenance.header(), end="")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    glob = build_network(SHAPE, 1, None, args.width, args.depth, False)
    g_flops = flops(glob)
    g_time = infer_time(glob, args.batch, args.repeats)
    g_train = train_throughput(glob, args.batch, args.train_steps)
    n_par = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    print(f"28x28, width {args.width}, depth {args.depth}, batch {args.batch}, "
          f"{args.threads} thread(s), device cpu")
    print(f"global U-Net: {g_flops / 1e6:9.1f} MFLOP/image, {g_time * 1e3:7.3f} ms/image, "
          f"train {g_train:8.1f} images/s, {n_par(glob)} parameters")
    print(f"{'radius':>6} {'MFLOP/img':>10} {'ms/img':>8} {'train img/s':>12} "
          f"{'FLOP ratio':>11} {'time ratio':>11} {'train ratio':>12}")
    for r in args.radii:
        loc = build_network(SHAPE, 1, r, args.width, args.depth, False)
        f, tm, tr = flops(loc), infer_time(loc, args.batch, args.repeats), train_throughput(
            loc, args.batch, args.train_steps)
        print(f"{r:6d} {f / 1e6:10.1f} {tm * 1e3:8.3f} {tr:12.1f} "
              f"{g_flops / f:10.2f}x {g_time / tm:10.2f}x {tr / g_train:11.2f}x")


if __name__ == "__main__":
    main()
