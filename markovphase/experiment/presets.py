"""The preset locality schedules of the paper's experiment."""

from __future__ import annotations

from ..schedule import LocalitySchedule

__all__ = ["PRESETS", "preset_schedules"]

PRESETS = ("local-global-local", "global-local-global", "all-local", "all-global")


def preset_schedules(radius: int, window=(0.2, 0.5), names=PRESETS) -> dict:
    """The preset schedules with local radius ``radius`` and window ``(lo, hi)``.

    ``local-global-local``: r on ``[0, lo)`` and ``[hi, 1]``, global on ``[lo, hi)``
    (the paper's r = 3 with window (0.2, 0.5)); ``global-local-global`` the
    reverse; ``all-local``; ``all-global``.
    """
    lo, hi = (float(w) for w in window)
    if not 0 < lo < hi < 1:
        raise ValueError(f"window={window!r} must satisfy 0 < lo < hi < 1")
    table = {
        "local-global-local": [(0, lo, radius), (lo, hi, None), (hi, 1, radius)],
        "global-local-global": [(0, lo, None), (lo, hi, radius), (hi, 1, None)],
        "all-local": [(0, 1, radius)],
        "all-global": [(0, 1, None)],
    }
    unknown = set(names) - set(table)
    if unknown:
        raise ValueError(f"unknown preset(s) {sorted(unknown)}; expected {list(table)}")
    return {n: LocalitySchedule(table[n], metadata={"preset": n}) for n in names}
