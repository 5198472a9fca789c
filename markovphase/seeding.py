"""The one seed draw: an int32 seed from a ``random_state`` (scikit-learn's convention).

Estimators resolve ``random_state`` in ``fit`` and hand integer seeds to the
parts that need their own stream (the noise of a probe, its CMI estimator,
the cells of a scan, a network's initialisation), so one ``random_state``
makes the whole fit repeatable.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["draw_seed"]

_INT32_MAX = np.iinfo(np.int32).max


def draw_seed(random_state) -> int:
    """One seed in ``[0, 2**31 - 1)`` drawn from ``random_state``.

    ``random_state`` is an int, a :class:`numpy.random.RandomState` (its
    stream advances, so successive draws give different seeds) or ``None``
    (numpy's global state), as in :func:`sklearn.utils.check_random_state`.
    """
    return int(check_random_state(random_state).randint(_INT32_MAX))
