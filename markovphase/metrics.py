r"""Offline sample-quality metrics, each next to a same-distribution baseline.

No downloaded networks: features come from models trained on the fly on the
real data (scikit-learn), or from PCA. Every comparison function takes the
real training rows, held-out real rows and the generated rows, and reports the
metric for *generated vs real* next to the same metric for *held-out real vs
real* (the same-distribution baseline: what sampling noise alone gives at that
sample size). Use as many held-out rows as generated ones for a fair baseline.

Images (:func:`image_quality`)
    A classifier trained on real pixels (logistic regression or a small MLP)
    labels the samples: mean label entropy ``E[H(p(y|x))]`` (nats; low = confident),
    mean top-class confidence, class balance ``H(E[p(y|x)])`` and its KL from the
    real label frequencies, and the "inception score" ``exp(E KL(p(y|x) || p(y)))``.
    On the classifier's hidden features (MLP) or PCA features: the Fréchet
    distance ``|mu_1 - mu_2|^2 + tr(S_1 + S_2 - 2 (S_1 S_2)^{1/2})`` and the
    unbiased kernel MMD^2 (cubic polynomial kernel, the KID kernel, or RBF).
Memorisation (:func:`memorisation`)
    Distance of each sample to its nearest training row (``d_1``) and the ratio
    ``d_1 / d_2`` to the second nearest; the share of samples with
    ``d_1/d_2 < 1/3`` counts near-copies.
Spins / lattice fields (:func:`physics_quality`)
    Per-sample energy ``E = -(1/N) sum_<ij> s_i s_j`` (nearest-neighbour bonds)
    and magnetisation ``m = (1/N) sum_i s_i``, compared by the 1-D Wasserstein
    distance (:func:`scipy.stats.wasserstein_distance`), and the two-point
    function ``G(r) = <s_x s_{x + r e_a}>`` (averaged over sites and axes).
Gaussian fields (:func:`covariance_error`)
    ``||S - Sigma||_F / ||Sigma||_F`` of the sample covariance ``S`` against the
    exact ``Sigma``, with its null distribution from exact Gaussian samples of
    the same size.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from scipy import linalg, stats
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state

from .params import store_params

__all__ = [
    "frechet_distance", "kernel_mmd", "label_statistics", "FeatureClassifier",
    "image_quality", "memorisation", "lattice_energy", "magnetisation",
    "two_point_function", "physics_quality", "covariance_error",
]


def _as2d(X, name):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or len(X) < 2:
        raise ValueError(f"{name} must be a 2-D array with at least 2 rows, got shape {X.shape}")
    return X


# -- distances between feature clouds ----------------------------------------------------
def frechet_distance(F1, F2) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (features^2 units).

    ``|mu_1 - mu_2|^2 + tr(S_1 + S_2 - 2 (S_1 S_2)^{1/2})``.
    """
    F1, F2 = _as2d(F1, "F1"), _as2d(F2, "F2")
    if F1.shape[1] != F2.shape[1]:
        raise ValueError(f"F1 and F2 have {F1.shape[1]} and {F2.shape[1]} features")
    mu = F1.mean(0) - F2.mean(0)
    S1 = np.atleast_2d(np.cov(F1, rowvar=False))
    S2 = np.atleast_2d(np.cov(F2, rowvar=False))
    # tr (S1 S2)^{1/2} = sum sqrt(eig(S1^{1/2} S2 S1^{1/2})), stable for singular S1, S2
    w, V = np.linalg.eigh(S1)
    h = (V * np.sqrt(np.clip(w, 0, None))) @ V.T
    tr_sqrt = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh(h @ S2 @ h), 0, None)))
    return float(mu @ mu + np.trace(S1) + np.trace(S2) - 2 * tr_sqrt)


def kernel_mmd(F1, F2, kernel: str = "poly", gamma=None) -> float:
    """Unbiased squared MMD between two feature sets.

    ``kernel="poly"``: ``k(x, y) = (x.y / D + 1)^3`` (the KID kernel, D features);
    ``kernel="rbf"``: ``exp(-gamma |x - y|^2)`` with ``gamma`` = 1 / median
    squared distance of the pooled rows when ``None``.
    """
    F1, F2 = _as2d(F1, "F1"), _as2d(F2, "F2")
    D = F1.shape[1]
    if kernel == "poly":
        def k(a, b):
            return (a @ b.T / D + 1.0) ** 3
    elif kernel == "rbf":
        if gamma is None:
            P = np.vstack([F1, F2])
            idx = check_random_state(0).choice(len(P), min(len(P), 1000), replace=False)
            d2 = np.sum((P[idx, None, :] - P[None, idx, :]) ** 2, -1)
            gamma = 1.0 / max(np.median(d2[d2 > 0]), 1e-12)

        def k(a, b):
            d2 = np.sum(a**2, 1)[:, None] + np.sum(b**2, 1)[None, :] - 2 * a @ b.T
            return np.exp(-gamma * np.maximum(d2, 0))
    else:
        raise ValueError(f"kernel={kernel!r}; expected 'poly' or 'rbf'")
    m, n = len(F1), len(F2)
    Kxx, Kyy, Kxy = k(F1, F1), k(F2, F2), k(F1, F2)
    return float((Kxx.sum() - np.trace(Kxx)) / (m * (m - 1))
                 + (Kyy.sum() - np.trace(Kyy)) / (n * (n - 1)) - 2 * Kxy.mean())


# -- classifier on real data -------------------------------------------------------------
def label_statistics(P: np.ndarray, prior=None) -> dict:
    """Statistics of predicted label distributions ``P`` (rows sum to 1), in nats.

    ``label_entropy`` = mean_i H(P_i); ``confidence`` = mean_i max_y P_iy;
    ``class_balance_entropy`` = H(mean_i P_i); ``class_kl`` = KL(mean_i P_i || prior)
    (``prior`` = uniform when None); ``inception_score`` = exp(mean_i KL(P_i || mean P)).
    """
    P = np.clip(np.asarray(P, float), 1e-12, 1)
    P = P / P.sum(1, keepdims=True)
    pbar = P.mean(0)
    prior = np.full(P.shape[1], 1 / P.shape[1]) if prior is None else np.asarray(prior, float)
    return {
        "label_entropy": float(-np.mean(np.sum(P * np.log(P), 1))),
        "confidence": float(P.max(1).mean()),
        "class_balance_entropy": float(-np.sum(pbar * np.log(pbar))),
        "class_kl": float(np.sum(pbar * np.log(pbar / np.clip(prior, 1e-12, 1)))),
        "inception_score": float(np.exp(np.mean(np.sum(P * np.log(P / pbar), 1)))),
    }


class FeatureClassifier:
    """A classifier trained on real rows; gives label probabilities and features.

    Parameters
    ----------
    model : {"mlp", "logistic"}, default="mlp"
        ``"mlp"``: :class:`sklearn.neural_network.MLPClassifier` with one hidden
        ReLU layer of ``hidden`` units, whose activations are the features;
        ``"logistic"``: logistic regression, features = PCA to ``n_components``.
    hidden : int, default=128
    n_components : int, default=32
    max_iter : int, default=200
    random_state : int or None, default=0
    """

    def __init__(self, model="mlp", hidden=128, n_components=32, max_iter=200, random_state=0):
        store_params(self, locals())

    def fit(self, X, y):
        X = _as2d(X, "X")
        y = np.asarray(y)
        if y.shape != (len(X),):
            raise ValueError(f"y has shape {y.shape}; expected ({len(X)},)")
        self.classes_ = np.unique(y)
        self.prior_ = np.array([np.mean(y == c) for c in self.classes_])
        if self.model == "mlp":
            from sklearn.neural_network import MLPClassifier

            self.clf_ = MLPClassifier((int(self.hidden),), max_iter=int(self.max_iter),
                                      early_stopping=True, random_state=self.random_state)
        elif self.model == "logistic":
            from sklearn.linear_model import LogisticRegression

            self.clf_ = LogisticRegression(max_iter=int(self.max_iter))
            self.pca_ = PCA(min(int(self.n_components), X.shape[1], len(X)),
                            random_state=self.random_state).fit(X)
        else:
            raise ValueError(f"model={self.model!r}; expected 'mlp' or 'logistic'")
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.clf_.fit(X, y)
        return self

    def predict_proba(self, X):
        return self.clf_.predict_proba(np.asarray(X, float))

    def features(self, X):
        """Hidden ReLU activations (MLP) or PCA scores (logistic)."""
        X = np.asarray(X, float)
        if self.model == "mlp":
            return np.maximum(X @ self.clf_.coefs_[0] + self.clf_.intercepts_[0], 0)
        return self.pca_.transform(X)


def _rows(metric, gen, base, unit=""):
    return {"metric": metric, "generated": gen, "baseline": base, "unit": unit}


def image_quality(X_train, y_train, X_heldout, X_gen, classifier=None, kernel="poly",
                  random_state=0) -> pd.DataFrame:
    """Classifier, Fréchet, MMD and memorisation metrics of generated images.

    Parameters
    ----------
    X_train, y_train : real rows and labels the classifier is trained on.
    X_heldout : real rows not used for training (the baseline sample).
    X_gen : generated rows.
    classifier : FeatureClassifier or None
        A fitted one to reuse; ``None`` fits an MLP on ``(X_train, y_train)``.

    Returns
    -------
    pandas.DataFrame
        Columns ``metric, generated, baseline, unit``; ``baseline`` is the same
        metric for ``X_heldout`` in place of ``X_gen``.
    """
    X_train, X_heldout, X_gen = (_as2d(X_train, "X_train"), _as2d(X_heldout, "X_heldout"),
                                 _as2d(X_gen, "X_gen"))
    clf = classifier or FeatureClassifier(random_state=random_state).fit(X_train, y_train)
    Lg = label_statistics(clf.predict_proba(X_gen), clf.prior_)
    Lh = label_statistics(clf.predict_proba(X_heldout), clf.prior_)
    rows = [_rows(k, Lg[k], Lh[k], "nats" if k != "confidence" and k != "inception_score" else "")
            for k in Lg]
    Ft, Fg, Fh = clf.features(X_train), clf.features(X_gen), clf.features(X_heldout)
    rows.append(_rows("frechet_distance", frechet_distance(Fg, Ft), frechet_distance(Fh, Ft),
                      "feature^2"))
    rows.append(_rows("kernel_mmd2", kernel_mmd(Fg, Ft, kernel), kernel_mmd(Fh, Ft, kernel), ""))
    pca = PCA(min(32, X_train.shape[1], len(X_train)), random_state=random_state).fit(X_train)
    Pt, Pg, Ph = pca.transform(X_train), pca.transform(X_gen), pca.transform(X_heldout)
    rows.append(_rows("frechet_distance_pca", frechet_distance(Pg, Pt), frechet_distance(Ph, Pt),
                      "pixel^2"))
    mean_t = X_train.mean(0)
    rows.append(_rows("pixel_mean_abs_diff", float(np.mean(np.abs(X_gen.mean(0) - mean_t))),
                      float(np.mean(np.abs(X_heldout.mean(0) - mean_t))), "pixel"))
    mg, mh = memorisation(X_gen, X_train), memorisation(X_heldout, X_train)
    rows += [_rows(k, mg[k], mh[k], "pixel" if "distance" in k else "") for k in mg]
    return pd.DataFrame(rows)


def memorisation(X_gen, X_train, ratio: float = 1 / 3) -> dict:
    """Nearest-neighbour copy check of ``X_gen`` against the training rows.

    Returns ``nn_distance_median`` (Euclidean, data units), ``nn_ratio_median``
    (``d_1/d_2``) and ``copy_fraction`` (share with ``d_1/d_2 < ratio``).
    """
    X_gen, X_train = _as2d(X_gen, "X_gen"), _as2d(X_train, "X_train")
    dist, _ = NearestNeighbors(n_neighbors=2).fit(X_train).kneighbors(X_gen)
    r = dist[:, 0] / np.maximum(dist[:, 1], 1e-12)
    return {"nn_distance_median": float(np.median(dist[:, 0])),
            "nn_ratio_median": float(np.median(r)), "copy_fraction": float(np.mean(r < ratio))}


# -- lattice physics ---------------------------------------------------------------------
def _grid(X, lattice_shape):
    X = _as2d(X, "X")
    shape = tuple(int(s) for s in lattice_shape)
    if int(np.prod(shape)) != X.shape[1]:
        raise ValueError(f"lattice_shape={shape} has {int(np.prod(shape))} sites; X has "
                         f"{X.shape[1]} features")
    return X.reshape(len(X), *shape)


def lattice_energy(X, lattice_shape, periodic: bool = True, coupling: float = 1.0) -> np.ndarray:
    """Nearest-neighbour energy per site ``-(J/N) sum_<ij> s_i s_j``, one value per row."""
    g = _grid(X, lattice_shape)
    n_sites = int(np.prod(g.shape[1:]))
    e = np.zeros(len(g))
    for ax in range(1, g.ndim):
        if periodic:
            e += np.sum(g * np.roll(g, -1, axis=ax), axis=tuple(range(1, g.ndim)))
        else:
            a = np.take(g, np.arange(g.shape[ax] - 1), axis=ax)
            b = np.take(g, np.arange(1, g.shape[ax]), axis=ax)
            e += np.sum(a * b, axis=tuple(range(1, g.ndim)))
    return -coupling * e / n_sites


def magnetisation(X) -> np.ndarray:
    """Mean spin per row, ``(1/N) sum_i s_i``."""
    return _as2d(X, "X").mean(axis=1)


def two_point_function(X, lattice_shape, max_distance=None, periodic: bool = True,
                       connected: bool = True) -> np.ndarray:
    """``G(r) = <s_x s_{x + r e_a}>`` for ``r = 0..max_distance``, averaged over x, axes, rows.

    ``connected=True`` subtracts the per-site mean first. Periodic lattices wrap.
    """
    g = _grid(X, lattice_shape)
    if connected:
        g = g - g.mean(axis=0, keepdims=True)
    L = min(g.shape[1:])
    rmax = (L // 2 if periodic else L - 1) if max_distance is None else int(max_distance)
    out = np.zeros(rmax + 1)
    for r in range(rmax + 1):
        vals = []
        for ax in range(1, g.ndim):
            if periodic:
                vals.append(np.mean(g * np.roll(g, -r, axis=ax)))
            else:
                n = g.shape[ax]
                vals.append(np.mean(np.take(g, np.arange(n - r), axis=ax)
                                    * np.take(g, np.arange(r, n), axis=ax)))
        out[r] = np.mean(vals)
    return out


def physics_quality(X_ref, X_heldout, X_gen, lattice_shape, periodic=True) -> pd.DataFrame:
    """Energy, |magnetisation| and two-point function of generated lattice samples.

    Rows: ``energy_w1`` and ``abs_magnetisation_w1`` (1-D Wasserstein distances to
    ``X_ref``) and ``two_point_max_abs`` (largest |G_gen(r) - G_ref(r)|), each for
    ``X_gen`` and, as baseline, ``X_heldout``.
    """
    def one(X):
        e = stats.wasserstein_distance(lattice_energy(X, lattice_shape, periodic),
                                       lattice_energy(X_ref, lattice_shape, periodic))
        m = stats.wasserstein_distance(np.abs(magnetisation(X)), np.abs(magnetisation(X_ref)))
        G = np.max(np.abs(two_point_function(X, lattice_shape, periodic=periodic)
                          - two_point_function(X_ref, lattice_shape, periodic=periodic)))
        return e, m, G

    g, h = one(X_gen), one(X_heldout)
    names = ("energy_w1", "abs_magnetisation_w1", "two_point_max_abs")
    return pd.DataFrame([_rows(k, a, b, "") for k, a, b in zip(names, g, h, strict=True)])


# -- Gaussian fields ----------------------------------------------------------------------
def covariance_error(X, covariance, mean=None, statistic: str = "frobenius", n_null: int = 200,
                     random_state=0) -> dict:
    """Error of the sample covariance against the exact one, with its sampling null.

    ``S`` is the sample covariance of ``X`` about the known ``mean`` (zero when
    None), ``Sigma`` the exact covariance, ``d`` the dimension.

    * ``statistic="frobenius"``: ``||S - Sigma||_F / ||Sigma||_F`` (dimensionless);
    * ``statistic="kl"``: the Gaussian KL divergence
      ``KL(N(0, S) || N(0, Sigma)) = (tr(Sigma^-1 S) - d - log det(Sigma^-1 S)) / 2``
      (nats; needs more rows than dimensions).

    The null distribution is the same statistic for ``n_null`` exact draws
    ``N(mean, Sigma)`` of ``len(X)`` rows. Returns ``stat``, ``null_mean``,
    ``null_std``, ``null_q95``, ``null_q99``, ``p_value`` (share of null draws at
    least as large, +1 corrected) and ``z = (stat - null_mean) / null_std``.
    """
    X = _as2d(X, "X")
    Sig = np.asarray(covariance, float)
    d = X.shape[1]
    if Sig.shape != (d, d):
        raise ValueError(f"covariance has shape {Sig.shape}; expected {(d, d)}")
    if not isinstance(n_null, numbers.Integral) or n_null < 2:
        raise ValueError(f"n_null={n_null!r} must be an integer >= 2")
    if statistic not in ("frobenius", "kl"):
        raise ValueError(f"statistic={statistic!r}; expected 'frobenius' or 'kl'")
    if statistic == "kl" and len(X) <= d:
        raise ValueError(f"statistic='kl' needs more rows than dimensions ({len(X)} <= {d})")
    mu = np.zeros(d) if mean is None else np.asarray(mean, float)
    norm = np.linalg.norm(Sig)
    L = np.linalg.cholesky(Sig)

    def stat(Y):
        Yc = Y - mu
        S = Yc.T @ Yc / len(Y)
        if statistic == "frobenius":
            return float(np.linalg.norm(S - Sig) / norm)
        M = linalg.cho_solve((L, True), S)
        _, logdet = np.linalg.slogdet(M)
        return float(0.5 * (np.trace(M) - d - logdet))

    rng = check_random_state(random_state)
    null = np.array([stat(rng.standard_normal((len(X), d)) @ L.T + mu) for _ in range(n_null)])
    s = stat(X)
    sd = float(null.std(ddof=1))
    return {"statistic": statistic, "stat": s, "null_mean": float(null.mean()), "null_std": sd,
            "null_q95": float(np.quantile(null, 0.95)), "null_q99": float(np.quantile(null, 0.99)),
            "p_value": float((1 + np.sum(null >= s)) / (n_null + 1)),
            "z": float((s - null.mean()) / sd)}
