"""Locality schedules: which denoiser radius to use at each diffusion time.

A :class:`LocalitySchedule` is a list of intervals ``(t_lo, t_hi, radius)``
that tile the path ``[0, 1]`` without gaps or overlaps. ``radius`` is an
integer ``r >= 0`` (use the local denoiser of receptive radius ``r``) or
``None`` (use the global denoiser). Intervals are half-open,
``[t_lo, t_hi)``, except the last one, which is closed ``[t_lo, 1]``; so at a
boundary time the later interval (larger t) wins.

JSON schema (``to_json`` writes it, ``from_json`` reads and validates it)::

    {
      "schema": "markovphase.locality-schedule",   # required
      "version": 1,                                # required
      "intervals": [                               # required, any order
        {"t_lo": 0.0, "t_hi": 0.2, "radius": 3},
        {"t_lo": 0.2, "t_hi": 0.5, "radius": null},   # null or "global" = global
        {"t_lo": 0.5, "t_hi": 1.0, "radius": 3}
      ],
      "allowed_radii": [1, 2, 3] | null,           # optional: radii that have a denoiser
      "metadata": {...}                            # optional, free-form
    }

A hand-edited file is validated on reading: every interval needs
``0 <= t_lo < t_hi <= 1``, consecutive intervals must meet exactly (within
``1e-9``), the first must start at 0 and the last end at 1, and every radius
must be ``null``/``"global"`` or an integer ``>= 0`` (in ``allowed_radii``
when that is given). Errors name the interval and the offending value.
"""

from __future__ import annotations

import json
import numbers
import os
from dataclasses import dataclass, field

import numpy as np

__all__ = ["LocalitySchedule", "ScheduleError", "SCHEMA"]

SCHEMA = "markovphase.locality-schedule"
VERSION = 1
_ATOL = 1e-9


class ScheduleError(ValueError):
    """A locality schedule is malformed (gap, overlap, bad time or radius)."""


def _check_radius(radius, where: str, allowed=None):
    if radius is None or (isinstance(radius, str) and radius.lower() == "global"):
        return None
    if isinstance(radius, bool) or not isinstance(radius, numbers.Real):
        raise ScheduleError(f"{where}: radius={radius!r} must be an integer >= 0 or "
                            "None/'global'")
    if not float(radius).is_integer() or radius < 0:
        raise ScheduleError(f"{where}: radius={radius!r} must be an integer >= 0 or "
                            "None/'global'")
    radius = int(radius)
    if allowed is not None and radius not in allowed:
        raise ScheduleError(f"{where}: radius={radius} is not one of the allowed radii "
                            f"{sorted(allowed)}")
    return radius


def _check_t(value, where: str, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ScheduleError(f"{where}: {name}={value!r} must be a finite number in [0, 1]")
    if value < -_ATOL or value > 1 + _ATOL:
        raise ScheduleError(f"{where}: {name}={value!r} is outside [0, 1]")
    return float(min(max(value, 0.0), 1.0))


@dataclass(frozen=True)
class LocalitySchedule:
    """Radius of the denoiser to use along the diffusion path, by time interval.

    Parameters
    ----------
    intervals : sequence of (t_lo, t_hi, radius)
        Tiles of ``[0, 1]`` (any order; stored sorted by ``t_lo``). ``radius``
        is an int ``>= 0`` or ``None``/``"global"`` for the global denoiser.
    allowed_radii : sequence of int or None, default=None
        When given, every integer radius must be one of these (the radii for
        which a local denoiser exists).
    metadata : dict, default={}
        Free-form provenance (tolerance, scan parameters, ...), kept in JSON.

    Raises
    ------
    ScheduleError
        (a ``ValueError``) for gaps, overlaps, times outside ``[0, 1]``,
        empty intervals and unknown radii.

    Examples
    --------
    >>> s = LocalitySchedule([(0, 0.2, 3), (0.2, 0.5, None), (0.5, 1, 3)])
    >>> s.radius_at(0.3) is None, s.radius_at(0.9)
    (True, 3)
    """

    intervals: tuple
    allowed_radii: tuple | None = None
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        allowed = None
        if self.allowed_radii is not None:
            allowed = tuple(sorted({_check_radius(r, "allowed_radii") for r in self.allowed_radii}
                                   - {None}))
        object.__setattr__(self, "allowed_radii", allowed)
        object.__setattr__(self, "intervals", self._validate(self.intervals, allowed))
        object.__setattr__(self, "metadata", dict(self.metadata or {}))

    @staticmethod
    def _validate(intervals, allowed) -> tuple:
        try:
            items = list(intervals)
        except TypeError:
            raise ScheduleError(f"intervals={intervals!r} must be a sequence of "
                                "(t_lo, t_hi, radius)") from None
        if not items:
            raise ScheduleError("intervals is empty: a schedule must cover [0, 1]")
        rows = []
        for i, item in enumerate(items):
            where = f"interval {i} ({item!r})"
            if isinstance(item, dict):
                missing = {"t_lo", "t_hi", "radius"} - set(item)
                if missing:
                    raise ScheduleError(f"{where}: missing key(s) {sorted(missing)}")
                item = (item["t_lo"], item["t_hi"], item["radius"])
            if len(item) != 3:
                raise ScheduleError(f"{where}: expected (t_lo, t_hi, radius)")
            lo, hi = _check_t(item[0], where, "t_lo"), _check_t(item[1], where, "t_hi")
            if not hi > lo:
                raise ScheduleError(f"{where}: t_hi={item[1]!r} must be greater than "
                                    f"t_lo={item[0]!r}")
            rows.append((lo, hi, _check_radius(item[2], where, allowed)))
        rows.sort(key=lambda r: (r[0], r[1]))
        if rows[0][0] > _ATOL:
            raise ScheduleError(f"gap: nothing covers [0, {rows[0][0]!r}) (the first interval "
                                f"starts at t_lo={rows[0][0]!r}, expected 0)")
        if rows[-1][1] < 1 - _ATOL:
            raise ScheduleError(f"gap: nothing covers ({rows[-1][1]!r}, 1] (the last interval "
                                f"ends at t_hi={rows[-1][1]!r}, expected 1)")
        out = [(0.0, rows[0][1], rows[0][2])]
        for prev, cur in zip(rows[:-1], rows[1:], strict=True):
            if cur[0] > prev[1] + _ATOL:
                raise ScheduleError(f"gap: nothing covers ({prev[1]!r}, {cur[0]!r}) between "
                                    f"intervals {prev!r} and {cur!r}")
            if cur[0] < prev[1] - _ATOL:
                raise ScheduleError(f"overlap: intervals {prev!r} and {cur!r} both cover "
                                    f"[{cur[0]!r}, {min(prev[1], cur[1])!r}]")
            out.append((out[-1][1], cur[1], cur[2]))
        out[-1] = (out[-1][0], 1.0, out[-1][2])
        return tuple(out)

    # -- construction ---------------------------------------------------------------
    @classmethod
    def constant(cls, radius=None, **kwargs) -> LocalitySchedule:
        """One radius on all of [0, 1] (``None``: all-global)."""
        return cls([(0.0, 1.0, radius)], **kwargs)

    @classmethod
    def from_radii(cls, times, radii, max_radius=None, interpolation="conservative",
                   allowed_radii=None, metadata=None) -> LocalitySchedule:
        """A schedule from radii known at scanned times.

        Parameters
        ----------
        times : sequence of float
            Increasing times in [0, 1].
        radii : sequence of int, float or None
            Smallest adequate radius at each time; ``None``/NaN (no scanned
            radius adequate) or a radius above ``max_radius`` means global.
        max_radius : int or None, default=None
            Largest local radius allowed; larger ones become global.
        interpolation : {"conservative", "nearest"}, default="conservative"
            Between two scanned times: ``"conservative"`` uses the more
            demanding of the two (global beats any radius, a larger radius a
            smaller one), ``"nearest"`` switches at the midpoint. The first
            and last values extend to 0 and 1.
        allowed_radii : sequence of int or None, default=None
            Radii that have a denoiser: each radius is rounded up to the
            nearest allowed one (global when there is none).
        metadata : dict or None
            As for the constructor.
        """
        t = np.asarray(times, dtype=float)
        if t.ndim != 1 or t.size == 0 or len(radii) != t.size:
            raise ValueError(f"times (length {t.size}) and radii (length {len(radii)}) must be "
                             "non-empty 1-D sequences of the same length")
        if np.any(np.diff(t) <= 0) or t[0] < 0 or t[-1] > 1:
            raise ValueError(f"times={t.tolist()} must be strictly increasing in [0, 1]")
        if interpolation not in ("conservative", "nearest"):
            raise ValueError(f"interpolation={interpolation!r}; expected 'conservative' or "
                             "'nearest'")

        allowed = None if allowed_radii is None else sorted(
            _check_radius(a, "allowed_radii") for a in allowed_radii)

        def norm(r):
            if r is None or (isinstance(r, float) and np.isnan(r)):
                return None
            r = int(np.ceil(float(r)))
            if allowed is not None:  # round up to a radius that has a denoiser
                r = next((a for a in allowed if a >= r), None)
                if r is None:
                    return None
            return None if (max_radius is not None and r > max_radius) else r

        rr = [norm(r) for r in radii]

        def demanding(a, b):
            if a is None or b is None:
                return None
            return max(a, b)

        rows = []
        if interpolation == "nearest":
            edges = np.concatenate([[0.0], (t[1:] + t[:-1]) / 2, [1.0]])
            rows = [(edges[i], edges[i + 1], rr[i]) for i in range(len(t))]
        else:
            if t[0] > 0:
                rows.append((0.0, t[0], rr[0]))
            rows += [(t[i], t[i + 1], demanding(rr[i], rr[i + 1])) for i in range(len(t) - 1)]
            if t[-1] < 1:
                rows.append((t[-1], 1.0, rr[-1]))
            if len(t) == 1:
                rows = [(0.0, 1.0, rr[0])]
        rows = [r for r in rows if r[1] > r[0]]
        return cls(_merge(rows), allowed_radii=allowed_radii, metadata=metadata or {})

    @classmethod
    def from_scan(cls, scan, tolerance: float, max_radius=None, interpolation="conservative",
                  allowed_radii=None, window_global: bool = False, criterion: str = "cmi",
                  grid=None) -> LocalitySchedule:
        """The schedule of a fitted :class:`~markovphase.scan.PhaseScan`.

        At each scanned time the smallest scanned radius whose ``criterion``
        is ``<= tolerance``, global where none up to ``max_radius`` is (and,
        with ``window_global``, inside the scan's transition window):
        ``"cmi"`` bounds the probe value itself (nats of CMI), ``"weighted"``
        the excess x0-error a step of the sampler's time ``grid`` hands on
        (:func:`markovphase.schedule_scan.sampling_excess`). See
        :func:`markovphase.schedule_scan.scan_radii` and :meth:`from_radii`.
        """
        from .schedule_scan import scan_radii

        table = scan_radii(scan, tolerance, criterion, grid, window_global)
        window = getattr(scan, "transition_window_", None)
        meta = {"source": "PhaseScan", "tolerance": float(tolerance), "criterion": criterion,
                "window_global": bool(window_global),
                "max_radius": max_radius, "interpolation": interpolation,
                "scan_times": [float(x) for x in table["t"]],
                "scan_radii": [None if np.isnan(r) else float(r) for r in table["radius"]],
                "transition_window": None if window is None else [float(x) for x in window]}
        return cls.from_radii(table["t"].to_numpy(), list(table["radius"]), max_radius,
                              interpolation, allowed_radii, meta)

    # -- queries ----------------------------------------------------------------------
    def radius_at(self, t):
        """The radius (int, or ``None`` for global) in force at time ``t`` in [0, 1]."""
        return self.intervals[self.index_at(t)][2]

    def index_at(self, t) -> int:
        """Index of the interval holding ``t`` (``[t_lo, t_hi)``, the last one closed)."""
        if isinstance(t, bool) or not isinstance(t, numbers.Real) or not 0 <= t <= 1:
            raise ValueError(f"t={t!r} must be a number in [0, 1]")
        starts = np.array([iv[0] for iv in self.intervals])
        return int(np.searchsorted(starts, float(t), side="right") - 1)

    @property
    def radii(self) -> list:
        """The distinct local radii used (sorted), without ``None``."""
        return sorted({r for _, _, r in self.intervals if r is not None})

    @property
    def uses_global(self) -> bool:
        return any(r is None for _, _, r in self.intervals)

    @property
    def global_window(self):
        """``(t_lo, t_hi)`` spanned by the global intervals, or ``None``."""
        g = [(lo, hi) for lo, hi, r in self.intervals if r is None]
        return (min(lo for lo, _ in g), max(hi for _, hi in g)) if g else None

    def global_fraction(self) -> float:
        """Share of the path length [0, 1] that is global."""
        return float(sum(hi - lo for lo, hi, r in self.intervals if r is None))

    # -- serialisation ----------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"schema": SCHEMA, "version": VERSION,
                "intervals": [{"t_lo": lo, "t_hi": hi, "radius": r}
                              for lo, hi, r in self.intervals],
                "allowed_radii": None if self.allowed_radii is None else list(self.allowed_radii),
                "metadata": self.metadata}

    def to_json(self, path=None, indent: int = 2) -> str:
        """The schedule as JSON (the module's schema); also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=indent)
        if path is not None:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
        return text

    @classmethod
    def from_dict(cls, data: dict) -> LocalitySchedule:
        if not isinstance(data, dict):
            raise ScheduleError(f"a schedule must be a JSON object, got {type(data).__name__}")
        if data.get("schema") != SCHEMA:
            raise ScheduleError(f"schema={data.get('schema')!r}; expected {SCHEMA!r}")
        if data.get("version") != VERSION:
            raise ScheduleError(f"version={data.get('version')!r}; this reader knows {VERSION}")
        unknown = set(data) - {"schema", "version", "intervals", "allowed_radii", "metadata"}
        if unknown:
            raise ScheduleError(f"unknown key(s) {sorted(unknown)}; expected schema, version, "
                                "intervals, allowed_radii, metadata")
        if "intervals" not in data:
            raise ScheduleError("missing key 'intervals'")
        return cls(data["intervals"], allowed_radii=data.get("allowed_radii"),
                   metadata=data.get("metadata") or {})

    @classmethod
    def from_json(cls, source, allowed_radii=None) -> LocalitySchedule:
        """Read a schedule from a JSON string or a file path, validating it.

        ``allowed_radii``, when given, overrides the file's and is checked too.
        """
        text, where = source, ""
        if isinstance(source, os.PathLike) or (isinstance(source, str)
                                               and not source.lstrip().startswith("{")):
            where = f"schedule file {os.fspath(source)!r}: "
            try:
                with open(source, encoding="utf-8") as fh:
                    text = fh.read()
            except UnicodeDecodeError as exc:
                raise ScheduleError(f"{where}not UTF-8 JSON text (byte {exc.start} is "
                                    f"{exc.object[exc.start:exc.start + 1]!r})") from None
            except OSError as exc:
                raise ScheduleError(f"{where}cannot be read ({exc.strerror or exc}); expected "
                                    "a JSON schedule file") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScheduleError(f"{where}not valid JSON: {exc}") from None
        if allowed_radii is not None and isinstance(data, dict):
            data = {**data, "allowed_radii": list(allowed_radii)}
        try:
            return cls.from_dict(data)
        except ValueError as exc:
            if not where:
                raise
            raise ScheduleError(f"{where}{exc}") from None

    def __str__(self) -> str:
        parts = [f"[{lo:g}, {hi:g}{']' if hi == 1 else ')'}: "
                 f"{'global' if r is None else f'r={r}'}" for lo, hi, r in self.intervals]
        return "LocalitySchedule(" + "; ".join(parts) + ")"

    # -- plotting ---------------------------------------------------------------------
    def plot(self, ax=None, global_height=None, label=None):
        """Step plot of r(t), global intervals shaded. Returns the matplotlib axes.

        ``global_height`` is where global intervals are drawn on the radius
        axis (default: one above the largest local radius).
        """
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(5, 3))
        top = (max(self.radii) + 1 if self.radii else 1) if global_height is None else global_height
        first = True
        for lo, hi, r in self.intervals:
            y = top if r is None else r
            ax.plot([lo, hi], [y, y], color="C0", lw=2, label=label if first else None)
            first = False
            if r is None:
                ax.axvspan(lo, hi, color="C3", alpha=0.15)
        for (_, hi, r0), (_, _, r1) in zip(self.intervals[:-1], self.intervals[1:], strict=True):
            ax.plot([hi, hi], [top if r0 is None else r0, top if r1 is None else r1],
                    color="C0", lw=1, ls=":")
        ticks = self.radii + ([top] if self.uses_global else [])
        labels = [str(r) for r in self.radii] + (["global"] if self.uses_global else [])
        ax.set_yticks(ticks, labels)
        ax.set_xlim(0, 1)
        ax.set_xlabel("t (0 = data, 1 = noise)")
        ax.set_ylabel("denoiser radius r(t)")
        return ax


def _merge(rows):
    out = []
    for lo, hi, r in rows:
        if out and out[-1][2] == r and abs(out[-1][1] - lo) <= _ATOL:
            out[-1] = (out[-1][0], hi, r)
        else:
            out.append((float(lo), float(hi), r))
    return out
