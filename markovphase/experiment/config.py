"""The settings of the schedule experiment, in a few small dataclasses.

:class:`ExperimentConfig` groups what :func:`~markovphase.experiment.run_experiment`
needs: the data and its split (:class:`DataConfig`), the denoisers
(:class:`DenoiserConfig`), the preset and hand-written schedules
(:class:`ScheduleConfig`), the derived schedules (:class:`DerivationConfig`),
the sampler (:class:`SamplerConfig`) and the repeated sample sets
(:class:`RepeatConfig`). Every field has the default of ``markovphase sample``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .presets import PRESETS

__all__ = ["DataConfig", "DenoiserConfig", "ScheduleConfig", "DerivationConfig",
           "SamplerConfig", "RepeatConfig", "ExperimentConfig", "DEFAULT_GAP_TIMES"]

DEFAULT_GAP_TIMES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass(frozen=True)
class DataConfig:
    """A registered dataset and its split.

    ``n_train`` training rows (at most all rows but 2); the next ``n_samples``
    rows of the same seeded permutation are the held-out baseline set, the
    next ``n_samples`` the rows of the gap table, the next the second real set.
    """

    dataset: str = "mnist"
    params: dict[str, Any] = field(default_factory=dict)
    n_train: int = 2000
    n_samples: int = 500


@dataclass(frozen=True)
class DenoiserConfig:
    """The global denoiser and one local denoiser per radius.

    ``kind``: ``"network"`` (trained :class:`~markovphase.denoisers.LocalDenoiser`
    and :class:`~markovphase.denoisers.GlobalDenoiser`) or ``"linear"``
    (closed-form :class:`~markovphase.denoisers.LinearLocalDenoiser`).
    ``params`` go to every denoiser (epochs, width, ...), ``global_params``
    override them for the global one only (a wider global network next to
    small local ones: the paper's premise is that local networks can be
    small); ``center`` wraps each in
    :class:`~markovphase.denoisers.CenteredDenoiser`; ``model_dir`` keeps
    trained networks (:class:`~markovphase.experiment.ModelStore`).
    """

    kind: str = "network"
    params: dict[str, Any] = field(default_factory=dict)
    global_params: dict[str, Any] | None = None
    center: bool = False
    model_dir: str | None = None


@dataclass(frozen=True)
class ScheduleConfig:
    """The preset schedules (:func:`~markovphase.experiment.preset_schedules`) and
    ``extra`` ones: ``{name: LocalitySchedule or JSON path}``."""

    radius: int = 3
    window: tuple[float, float] = (0.2, 0.5)
    presets: tuple[str, ...] = PRESETS
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DerivationConfig:
    """The schedules derived from the data before any sample is drawn.

    ``derive``: the schedule ``derived`` from a PhaseScan of the training rows
    (``scan_params``: PhaseScan parameters, default times 0.1..0.9, radii
    (1, 2, 3), cmi "knn", and ``n_scan`` rows, default 2000) at ``tolerance``
    on ``criterion`` (``"cmi"``: the probe value itself; ``"weighted"``: the
    excess x0-error one step of the sampler's grid hands on, see
    :func:`markovphase.schedule_scan.sampling_excess`). ``gap_radii``: the schedule ``derived-gap``
    from the fitted denoisers' held-out gap
    (:func:`~markovphase.experiment.gap_schedule`) at each of ``gap_times``;
    a sequence of ``gap_tolerance`` values adds ``derived-gap@TOL`` for all
    but the first; ``gap_measure`` is what the tolerance bounds. Each
    ``gap_budget`` value adds ``derived-budget@B``: the cheapest schedule on the
    sampler's grid whose total excess over the whole trajectory, summed as
    ``gap_accumulate`` says, is at most ``B`` data variances
    (:func:`~markovphase.experiment.budget_schedule`).
    """

    derive: bool = True
    scan_params: dict[str, Any] | None = None
    tolerance: float = 0.01
    criterion: str = "cmi"
    gap_radii: tuple[int, ...] = ()
    gap_times: tuple[float, ...] = DEFAULT_GAP_TIMES
    gap_tolerance: float | tuple[float, ...] = 0.05
    gap_measure: str = "rel_gap"
    gap_budget: tuple[float, ...] = ()
    gap_accumulate: str = "coherent"


@dataclass(frozen=True)
class SamplerConfig:
    """The :class:`~markovphase.sampling.HybridSampler`'s integration."""

    steps: int = 20
    method: str = "heun"
    time_spacing: str | float = "uniform"


@dataclass(frozen=True)
class RepeatConfig:
    """More sample sets from the same networks: the metrics' own noise.

    ``n_global_repeats`` more all-global sets from independent noise (seeds
    ``seed + k``) and a second held-out real set; ``repeat_schedules`` are
    sampled as often with the same seeds (set k of each starts from the same
    noise as all-global set k). ``sample_random_state`` seeds the starting
    noise (``None``: the experiment's ``random_state``).
    """

    n_global_repeats: int = 0
    repeat_schedules: tuple[str, ...] = ()
    sample_random_state: int | None = None


#: the sections of ExperimentConfig and their types
_SECTIONS = {"data": DataConfig, "denoisers": DenoiserConfig, "schedules": ScheduleConfig,
             "derivation": DerivationConfig, "sampler": SamplerConfig, "repeats": RepeatConfig}


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything the schedule experiment needs; ``random_state`` seeds the split, the
    networks, the scan and the classifier."""

    data: DataConfig = field(default_factory=DataConfig)
    denoisers: DenoiserConfig = field(default_factory=DenoiserConfig)
    schedules: ScheduleConfig = field(default_factory=ScheduleConfig)
    derivation: DerivationConfig = field(default_factory=DerivationConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    repeats: RepeatConfig = field(default_factory=RepeatConfig)
    random_state: int = 0

    def __post_init__(self):
        for name, kind in _SECTIONS.items():
            value = getattr(self, name)
            if isinstance(value, dict):  # e.g. read back from result.json
                object.__setattr__(self, name, kind(**value))
            elif not isinstance(value, kind):
                raise TypeError(f"{name}={value!r} must be a {kind.__name__} (or its dict)")

    def to_dict(self) -> dict:
        """Plain, JSON-able form (``ExperimentConfig(**d)`` reads it back)."""
        return asdict(self)

    @classmethod
    def from_flat(cls, **kwargs) -> ExperimentConfig:
        """A config from flat keywords: each section's field names, plus the names
        ``run_experiment`` took before the config (``dataset_params``, ``schedules``,
        ``denoiser``, ``denoiser_params``, ``global_denoiser_params``).

        Raises ``TypeError`` for a keyword no section has.
        """
        renamed = {"dataset_params": "params", "schedules": "extra", "denoiser": "kind",
                   "denoiser_params": "params", "global_denoiser_params": "global_params"}
        owner = {"dataset_params": "data", "schedules": "schedules", "denoiser": "denoisers",
                 "denoiser_params": "denoisers", "global_denoiser_params": "denoisers"}
        sections: dict[str, dict] = {name: {} for name in _SECTIONS}
        top = {}
        for key, value in kwargs.items():
            if key == "random_state":
                top[key] = value
                continue
            if key in renamed:
                if value is not None or renamed[key] == "global_params":
                    sections[owner[key]][renamed[key]] = value
                continue
            home = [n for n, k in _SECTIONS.items() if key in {f.name for f in fields(k)}]
            if len(home) != 1:
                raise TypeError(f"unknown experiment setting {key!r}")
            sections[home[0]][key] = value
        return cls(**{n: _SECTIONS[n](**v) for n, v in sections.items()}, **top)
