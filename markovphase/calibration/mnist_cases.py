"""Gaussian mixtures fitted to the bundled MNIST test set (the paper's 27x27 crop).

``X`` is the paper's crop ``images[:, 1:, 1:] / 255`` (10,000 x 729, A = the
centre pixel (13, 13)). Three families, each exact along every path (a
mixture noised along ``x_t = alpha x_0 + sigma z`` is a mixture):

* ``class-templates``: ``x_0 = T_k + tau eps``, ``T_k`` the mean image of
  digit ``k``, ``k`` drawn with the class frequencies (isotropic components);
* ``class-gaussians``: ``x_0 ~ N(mu_k, Sigma_k + eps I)``, ``mu_k``,
  ``Sigma_k`` the mean and covariance (``np.cov``, ddof 1) of class ``k``;
* ``kmeans-clusters``: k-means clusters of the images (seeded by
  ``random_state``), each a Gaussian with its own mean and covariance
  (``full``, ``diag``, ``spherical`` or ``lowrank`` = top principal
  directions plus a diagonal), regularised by ``reg I``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .cases import MixtureCase, check_int, check_real
from .fit import FIT_COVARIANCE_TYPES, cluster_covariances, fit_cluster_mixture
from .mixture import GaussianMixtureModel

__all__ = ["mnist_paper_crop", "ClassTemplatesCase", "ClassGaussiansCase", "KMeansClustersCase"]


@lru_cache(maxsize=1)
def _crop():
    from ..datasets import load_dataset

    ds = load_dataset("mnist", crop=27)
    X, y = ds.X, ds.target
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


def mnist_paper_crop() -> tuple[np.ndarray, np.ndarray]:
    """The bundled MNIST test set as the paper's 27x27 crop: ``X`` (10000, 729), labels."""
    return _crop()


def _class_stats(X, y):
    classes = np.unique(y)
    weights = np.array([np.mean(y == k) for k in classes])
    means = np.stack([X[y == k].mean(0) for k in classes])
    return classes, weights, means


class _ClassMixtureCase(MixtureCase):
    """One Gaussian per MNIST class at the class-mean image, weighted by the class
    frequencies; a subclass gives the covariances (:meth:`_class_covariances`)."""

    lattice_shape = (27, 27)

    def _class_covariances(self, X, y) -> tuple[np.ndarray, str]:
        """``(covariances, covariance_type)`` of the components, classes in sorted order."""
        raise NotImplementedError

    def build_model(self) -> GaussianMixtureModel:
        X, y = mnist_paper_crop()
        _, w, means = _class_stats(X, y)
        return GaussianMixtureModel(w, means, *self._class_covariances(X, y))


class ClassTemplatesCase(_ClassMixtureCase):
    """MNIST class templates plus isotropic noise: ``x_0 = T_k + tau eps`` (10 components).

    Parameters
    ----------
    tau : float, default=0.2
        Pixel noise around the class-mean image (> 0).
    random_state : int or None, default=0
        Default seed of :meth:`sample_clean`.
    """

    name = "class-templates"

    def __init__(self, tau=0.2, random_state=0):
        self.tau = check_real(tau, "tau", 0.0, 10.0)
        self.random_state = random_state

    def _class_covariances(self, X, y):
        return np.full(len(np.unique(y)), self.tau**2), "spherical"


class ClassGaussiansCase(_ClassMixtureCase):
    """One full-covariance Gaussian per MNIST class: ``x_0 ~ N(mu_k, Sigma_k + eps I)``.

    Parameters
    ----------
    eps : float, default=0.01
        Ridge added to each class covariance (> 0; MNIST's border pixels are
        constant within a class).
    random_state : int or None, default=0
        Default seed of :meth:`sample_clean`.
    """

    name = "class-gaussians"

    def __init__(self, eps=0.01, random_state=0):
        self.eps = check_real(eps, "eps", 0.0, 10.0)
        self.random_state = random_state

    def _class_covariances(self, X, y):
        return cluster_covariances(X, y, "full", self.eps)[0], "full"


class KMeansClustersCase(MixtureCase):
    """k-means clusters of MNIST, one Gaussian per cluster with its own (regularised) covariance.

    Parameters
    ----------
    n_clusters : int, default=20
        Clusters (2..200), weights their sizes.
    covariance_type : {"full", "diag", "spherical", "lowrank"}, default="full"
    reg : float, default=0.01
        Ridge added to every cluster covariance (> 0).
    n_factors : int, default=10
        Principal directions per cluster for ``"lowrank"``.
    random_state : int or None, default=0
        Seeds k-means (so the model itself) and :meth:`sample_clean`.
    """

    name = "kmeans-clusters"
    lattice_shape = (27, 27)

    def __init__(self, n_clusters=20, covariance_type="full", reg=0.01, n_factors=10,
                 random_state=0):
        self.n_clusters = check_int(n_clusters, "n_clusters", 2, 200)
        if covariance_type not in FIT_COVARIANCE_TYPES:
            raise ValueError(f"covariance_type={covariance_type!r}; expected one of "
                             f"{FIT_COVARIANCE_TYPES}")
        self.covariance_type = covariance_type
        self.reg = check_real(reg, "reg", 0.0, 10.0)
        self.n_factors = check_int(n_factors, "n_factors", 1, 500)
        self.random_state = random_state

    def build_model(self) -> GaussianMixtureModel:
        X, _ = mnist_paper_crop()
        return fit_cluster_mixture(X, self.n_clusters, self.covariance_type, self.reg,
                                   self.n_factors, random_state=self.random_state)[0]
