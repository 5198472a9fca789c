"""The ``order-parameter`` probe: how well the macrostate of ``x_0`` can be read from ``x_t``.

Below T_c spin configurations fall into macrostates (the sign of the
magnetisation for Ising, the majority state for q-state Potts). Along the
forward path ``x_t = alpha(t) x_0 + sigma(t) z`` that label stays readable
until the noise swamps the global order parameter; the time where the readout
drops to chance is the symmetry-breaking ("speciation") time of the reverse
process. This probe measures it at one ``t`` (radius-free: ``r = None``).

Readout (``readout="sum"``, no fitted parameters): ``sign(sum_i x_t,i)``
for one channel, ``argmax_k sum_i x_t,(i,k)`` for one-hot channels -- the
natural readout of a Z_2 / S_q symmetric order parameter. ``readout="logistic"``
fits a (multinomial) logistic regression on a training split and scores the
held-out split.

Reported ``value``: the information the readout carries about the macrostate,
in nats, for a symmetric channel with uniform prior over K macrostates (exact
by symmetry for Ising/Potts data):

    I = ln K + a ln a + (1 - a) ln((1 - a) / (K - 1)),

``a`` the held-out accuracy (``I = 0`` at chance ``a = 1/K``, ``ln K`` at
``a = 1``). ``stderr`` by the delta method from the binomial error
``sqrt(a (1 - a) / n)``.
"""

from __future__ import annotations

import numbers

import numpy as np
from markovphase.diffusion import DEPRECATED, check_time, resolve_path
from markovphase.lattice import Lattice
from markovphase.params import store_params
from markovphase.probes import Probe
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

READOUTS = ("sum", "logistic")


def symmetric_channel_information(accuracy: float, n_classes: int) -> float:
    """``ln K + a ln a + (1-a) ln((1-a)/(K-1))`` in nats (0 at chance, ln K at a = 1)."""
    a, K = float(accuracy), int(n_classes)
    out = np.log(K)
    if a > 0:
        out += a * np.log(a)
    if a < 1:
        out += (1 - a) * np.log((1 - a) / (K - 1))
    return float(out)


def plugin_mutual_information(labels: np.ndarray, predictions: np.ndarray) -> float:
    """Plug-in ``I(label; prediction)`` in nats from the empirical joint histogram."""
    _, li = np.unique(labels, return_inverse=True)
    _, pi = np.unique(predictions, return_inverse=True)
    joint = np.zeros((li.max() + 1, pi.max() + 1))
    np.add.at(joint, (li, pi), 1.0)
    joint /= joint.sum()
    outer = joint.sum(1, keepdims=True) * joint.sum(0, keepdims=True)
    nz = joint > 0
    return float(np.sum(joint[nz] * np.log(joint[nz] / outer[nz])))


class OrderParameterProbe(Probe):
    """Readout of the macrostate of ``x_0`` from ``x_t`` (the speciation probe).

    Parameters
    ----------
    lattice_shape : tuple of int
        Spatial shape, e.g. ``(32, 32)``.
    t : float, default=0.5
        Diffusion time in [0, 1].
    radii : ignored, default=None
        Accepted for the probe protocol; this probe is radius-free (``r = None``).
    path : str or DiffusionPath, default="linear"
        Forward path (``markovphase.diffusion.get_path``).
    n_channels : int, default=1
        1: macrostate = sign of the sum (Ising magnetisation). > 1: one-hot
        channels, macrostate = channel with the largest sum (Potts majority).
    periodic : bool, default=True
        Lattice borders (only checked: the readout is global).
    site : ignored, default=None
        Accepted for the probe protocol.
    readout : {"sum", "logistic"}, default="sum"
        ``"sum"``: parameter-free order-parameter readout on all samples.
        ``"logistic"``: logistic regression on ``x_t``, trained on
        ``1 - test_size`` of the samples and scored on the rest.
    test_size : float, default=0.5
        Held-out fraction for ``readout="logistic"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the noise ``z`` and the split.
    schedule : str or DiffusionPath, default="deprecated"
        Deprecated spelling of ``path`` (``FutureWarning``; removed in the next release).

    Attributes
    ----------
    results_ : list of dict
        One row: ``r`` (None), ``value`` (nats), ``stderr``, ``accuracy``,
        ``accuracy_stderr``, ``chance``, ``mutual_information_plugin``,
        ``t``, ``snr``, ``n_test``, ``n_ties``.
    accuracy_ : float
    information_ : float
        ``value`` of the row, in nats.
    n_features_in_ : int
    """

    def __init__(self, lattice_shape=None, t=0.5, radii=None, path="linear", n_channels=1,
                 periodic=True, site=None, readout="sum", test_size=0.5, random_state=None,
                 schedule=DEPRECATED):
        store_params(self, locals())

    def _labels(self, x: np.ndarray) -> np.ndarray:
        """Macrostate per row of x with shape (n, n_sites, n_channels)."""
        sums = x.sum(axis=1)
        if x.shape[2] == 1:
            return np.sign(sums[:, 0]).astype(int)
        top = sums.max(axis=1, keepdims=True)
        ties = (sums == top).sum(axis=1) > 1
        return np.where(ties, -1, sums.argmax(axis=1))

    def fit(self, X, y=None):
        """Noise ``X`` to time ``t`` and score the macrostate readout.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_sites * n_channels)
            Clean samples ``x_0`` (Ising spins, one-hot Potts states, ...).
        y : ignored
        """
        X = validate_data(self, X, dtype=np.float64)
        if self.lattice_shape is None:
            raise ValueError("lattice_shape=None: pass the spatial shape, e.g. (32, 32)")
        lattice = Lattice(self.lattice_shape, int(self.n_channels), bool(self.periodic))
        lattice.check_X(X)
        if not isinstance(self.t, numbers.Real):
            raise TypeError(f"t={self.t!r} must be a real number in [0, 1]")
        t = check_time(self.t)
        if self.readout not in READOUTS:
            raise ValueError(f"readout={self.readout!r} is unknown; expected one of {READOUTS}")
        path = resolve_path(self.path, self.schedule, "OrderParameterProbe")
        rng = check_random_state(self.random_state)
        n, c = X.shape[0], lattice.n_channels
        labels = self._labels(X.reshape(n, -1, c))
        keep = labels != 0 if c == 1 else labels >= 0  # drop exact ties
        n_classes = 2 if c == 1 else c
        Xt = path.noise(X, t, rng.standard_normal(X.shape))[keep]
        labels = labels[keep]
        if len(labels) < 2:
            raise ValueError(f"X has {len(labels)} samples with a definite macrostate; need >= 2")
        if self.readout == "sum":
            pred = self._labels(Xt.reshape(len(Xt), -1, c))
            truth = labels
        else:
            Xtr, Xte, ytr, yte = train_test_split(
                Xt, labels, test_size=self.test_size, random_state=rng, stratify=labels)
            if len(np.unique(ytr)) < 2:
                pred = np.full(len(yte), ytr[0])
            else:
                pred = LogisticRegression(max_iter=1000).fit(Xtr, ytr).predict(Xte)
            truth = yte
        acc = float(np.mean(pred == truth))
        n_test = len(truth)
        acc_se = float(np.sqrt(acc * (1 - acc) / n_test))
        info = symmetric_channel_information(acc, n_classes)
        slope = 0.0 if acc in (0.0, 1.0) else abs(np.log(acc * (n_classes - 1) / (1 - acc)))
        self.accuracy_ = acc
        self.information_ = info
        self.results_ = [{
            "r": None, "value": info, "stderr": slope * acc_se,
            "accuracy": acc, "accuracy_stderr": acc_se, "chance": 1.0 / n_classes,
            "mutual_information_plugin": plugin_mutual_information(truth, pred),
            "t": t, "snr": float(path.snr(t)), "n_test": n_test,
            "n_ties": int((~keep).sum()), "readout": self.readout,
        }]
        return self

    def score(self, X=None, y=None):
        """The fitted information in nats (``results_[0]["value"]``)."""
        check_is_fitted(self)
        return self.information_
