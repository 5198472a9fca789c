"""markovphase estimators inside a scikit-learn Pipeline.

crop (8x8 digits -> 7x7, so the centre is one pixel) -> ForwardDiffusion (noise to t)
-> MarkovProbe (I(A;C|B(r)) of the noised data, measured as is: the probe's own t is 0).

Shows nested ``set_params``, ``clone`` and ``set_output(transform="pandas")`` with named
columns. Run: ``python examples/pipeline.py`` (a few seconds).
"""

from sklearn.base import clone
from sklearn.pipeline import make_pipeline

import markovphase as mp
from markovphase.preprocessing import LatticeCrop

ds = mp.load_dataset("digits")
pipe = make_pipeline(
    LatticeCrop(lattice_shape=(8, 8), size=7),
    mp.ForwardDiffusion(t=0.3, random_state=0),
    mp.MarkovProbe(lattice_shape=(7, 7), radii=[1, 2], t=0.0, cmi="gaussian", random_state=0),
)
pipe.set_params(markovprobe__radii=[1, 2])          # nested parameters reach the probe
pipe.set_output(transform="pandas")

per_sample = pipe.fit_transform(ds.X)               # per-sample (pointwise) CMI terms
probe = pipe[-1]
print("columns:", list(per_sample.columns))
print("I(A;C|B(r)) [nats] at t=0.3:", dict(zip(probe.radii_, probe.cmi_.round(4), strict=True)))
print("stderr:", probe.cmi_stderr_.round(4), " Markov length:", round(probe.markov_length_, 3))

later = clone(pipe).set_params(forwarddiffusion__t=0.8)   # an unfitted copy at another time
later.fit(ds.X)
print("I(A;C|B(r)) at t=0.8:", later[-1].cmi_.round(4))
assert list(per_sample.columns) == ["r1_cmi", "r2_cmi"]
