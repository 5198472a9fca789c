"""Exact calibration of CMI estimators on lattice-scale distributions.

Every case's noised subset marginals are exact along every forward path, so
I(A;C|B(r)) is known (Monte Carlo over exact log-densities, or log-dets):

==================  ===========================================================
``gaussian-field``  Gaussian free field on a 27x27 torus (exact log-dets)
``class-templates`` MNIST class-mean images plus isotropic noise ``tau``
``class-gaussians`` one full-covariance Gaussian per MNIST class (+ ``eps I``)
``kmeans-clusters`` k-means clusters of MNIST with their own covariances
``ising-chain``     noisy 1-D Ising chain of 729 sites (hidden Markov model)
==================  ===========================================================

``run_calibration(cmi, cases=...)`` runs any estimator (registered name,
class or instance) through :class:`~markovphase.MarkovProbe` / its one-run
path mode and returns a table estimate / exact / stderr / error / passed per
case and cell; ``markovphase calibrate --cmi NAME`` is the command.
"""

from __future__ import annotations

from .cases import CalibrationCase, GaussianFieldCase, MixtureCase
from .exact_cmi import mixture_cmi, mixture_cmi_path, nested_chains
from .gaussian import MacrostateMixture, gaussian_cmi, gff_covariance
from .ising_chain import HiddenIsingChain, IsingChainCase
from .mixture import COVARIANCE_TYPES, GaussianMixtureModel
from .mnist_cases import (
    ClassGaussiansCase,
    ClassTemplatesCase,
    KMeansClustersCase,
    mnist_paper_crop,
)
from .report import format_table, plot_calibration, summary, write_calibration
from .runner import default_cases, exact_table, run_calibration, tolerance

#: registry name -> case class
CASES: dict[str, type[CalibrationCase]] = {
    c.name: c for c in (GaussianFieldCase, ClassTemplatesCase, ClassGaussiansCase,
                        KMeansClustersCase, IsingChainCase)
}


def parse_case_spec(spec: str) -> tuple[str, dict]:
    """``"name:key=value,key=value"`` -> ``(name, params)``; values are Python literals
    where they parse (``"class-templates:tau=0.25,random_state=3"``), else text. Commas
    inside brackets belong to the value (``"mixture:n_components=(1,10)"``)."""
    import ast

    name, _, rest = str(spec).partition(":")
    items, depth, start = [], 0, 0
    for i, ch in enumerate(rest + ","):
        depth += (ch in "([{") - (ch in ")]}")
        if ch == "," and depth <= 0:
            items.append(rest[start:i].strip())
            start = i + 1
    params = {}
    for item in filter(None, items):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"case spec {spec!r}: {item!r} is not KEY=VALUE")
        try:
            params[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[key] = value
    return name.strip(), params


def get_case(case, **params) -> CalibrationCase:
    """A case from a name in :data:`CASES` (with ``params``), a spec
    ``"name:key=value,..."`` (:func:`parse_case_spec`; ``params`` fill in keys
    it does not set) or a :class:`CalibrationCase`."""
    if isinstance(case, str) and ":" in case:
        case, spec_params = parse_case_spec(case)
        params = {**params, **spec_params}
    if isinstance(case, CalibrationCase):
        if params:
            raise ValueError(f"params {sorted(params)} given with a case instance {case!r}")
        return case
    if case not in CASES:
        raise ValueError(f"case={case!r} is unknown; expected one of {sorted(CASES)}")
    cls = CASES[case]
    unknown = sorted(set(params) - set(cls._param_names()))
    if unknown:
        raise ValueError(f"case {case!r} got unknown parameter(s) {unknown}; it takes "
                         f"{cls._param_names()}")
    return cls(**params)


__all__ = [
    "CASES", "COVARIANCE_TYPES", "CalibrationCase", "ClassGaussiansCase", "ClassTemplatesCase",
    "GaussianFieldCase", "GaussianMixtureModel", "HiddenIsingChain", "IsingChainCase",
    "KMeansClustersCase", "MacrostateMixture", "MixtureCase", "gaussian_cmi", "get_case",
    "gff_covariance", "mixture_cmi", "mixture_cmi_path", "mnist_paper_crop", "nested_chains",
    "parse_case_spec",
    "default_cases", "exact_table", "format_table", "plot_calibration", "run_calibration",
    "summary", "tolerance", "write_calibration",
]
