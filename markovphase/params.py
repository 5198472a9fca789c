"""scikit-learn's rule for ``__init__``, shared by the estimators of the package.

An estimator's ``__init__`` has an explicit signature (``get_params`` reads
it) and only stores each parameter, unchanged, under its own name; checks
and conversions happen in ``fit``. :func:`store_params` does the storing in
one line, ``store_params(self, locals())``, as the first statement.
"""

from __future__ import annotations

__all__ = ["store_params"]


def store_params(estimator, params: dict) -> None:
    """scikit-learn's rule for ``__init__``: store each parameter, unchanged, under its name.

    Call it first thing as ``store_params(self, locals())`` (``self`` and
    dunder names such as the ``__class__`` cell of ``super()`` are skipped).
    """
    for name, value in params.items():
        if name != "self" and not name.startswith("__"):
            setattr(estimator, name, value)
