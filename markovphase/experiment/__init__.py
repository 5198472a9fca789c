"""The schedule experiment of Hu et al.: hybrid sampling with locality schedules.

* :mod:`~markovphase.experiment.config` -- :class:`ExperimentConfig` and its sections;
* :mod:`~markovphase.experiment.presets` -- the paper's preset schedules;
* :mod:`~markovphase.experiment.models` -- the denoisers of a run, :class:`ModelStore`;
* :mod:`~markovphase.experiment.gap` -- the held-out gap and the schedule it implies;
* :mod:`~markovphase.experiment.run` -- :func:`run_experiment`;
* :mod:`~markovphase.experiment.outputs` -- the files a run writes.

``markovphase sample`` is the command-line front end (:mod:`markovphase.cli.sample`).
"""

from __future__ import annotations

from .config import (
    DataConfig,
    DenoiserConfig,
    DerivationConfig,
    ExperimentConfig,
    RepeatConfig,
    SamplerConfig,
    ScheduleConfig,
)
from .gap import ACCUMULATIONS, GAP_MEASURES, budget_schedule, denoiser_gap, gap_schedule
from .models import DENOISER_KINDS, ModelStore, fit_denoisers
from .outputs import plot_samples, write_outputs
from .presets import PRESETS, preset_schedules
from .run import quality_table, run_experiment

__all__ = [
    "DataConfig", "DenoiserConfig", "DerivationConfig", "ExperimentConfig", "RepeatConfig",
    "SamplerConfig", "ScheduleConfig", "GAP_MEASURES", "ACCUMULATIONS", "budget_schedule",
    "denoiser_gap", "gap_schedule",
    "DENOISER_KINDS", "ModelStore", "fit_denoisers", "plot_samples", "write_outputs",
    "PRESETS", "preset_schedules", "quality_table", "run_experiment",
]
