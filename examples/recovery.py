"""Recovery experiment on the 8x8 digits: noise test images to T_f, integrate the
probability-flow ODE back to t = 0 with local denoisers of radius r (Euler,
dt = 1/32), and report the MSE against the clean images over the (T_f, r) grid,
with a grid-of-images figure.

Run:  python examples/recovery.py [--quick] [--out recovery.png]
      python examples/recovery.py --mnist ../shared/data/mnist/t10k-images-idx3-ubyte.gz
"""

from __future__ import annotations

import argparse

import markovphase as mp
from markovphase.denoisers import GlobalDenoiser, LocalDenoiser
from markovphase.denoisers.recovery import plot_recovery, recovery_experiment


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--with-global", action="store_true")
    ap.add_argument("--out", default="recovery.png")
    ap.add_argument("--mnist", default=None, help="MNIST IDX image file (28x28) instead of digits")
    ap.add_argument("--n-train", type=int, default=3000)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--radii", type=int, nargs="+", default=None)
    args = ap.parse_args(argv)

    if args.mnist:  # pixel values in [0, 1]; the last 256 images are the test set
        ds = mp.load_dataset("mnist", path=args.mnist)
        train, test = ds.X[:args.n_train], ds.X[-(64 if args.quick else 256):]
        radii = args.radii or [1, 3, 6]
    else:
        ds = mp.load_dataset("digits")
        train, test = ds.X[:1500], ds.X[1500:1500 + (32 if args.quick else 128)]
        radii = args.radii or ([1, 3] if args.quick else [0, 1, 2, 3, 4])
    epochs = args.epochs or (5 if args.quick else 30)
    kw = dict(lattice_shape=ds.lattice_shape, width=args.width, epochs=epochs,
              batch_size=64, learning_rate=3e-3, device="cpu", random_state=0)
    models = {r: LocalDenoiser(radius=r, depth=1, **kw).fit(train) for r in radii}
    if args.with_global:
        models[None] = GlobalDenoiser(**kw).fit(train)
    res = recovery_experiment(models, test, t_finals=[0.1, 0.3, 0.5, 1.0], dt=1 / 32)
    print(f"recovery MSE per pixel (rows T_f, columns r), {ds.name} scaled to [0, 1], "
          f"{len(train)} training / {len(test)} test images, width {args.width}, {epochs} epochs:")
    print(res.mse_table().round(4).to_string())
    plot_recovery(res, n_images=3, path=args.out)
    print(f"figure: {args.out}")


if __name__ == "__main__":
    main()
