"""Deprecated home of the schedule experiment; it moved in markovphase 0.2.

* the library: :mod:`markovphase.experiment` (:func:`~markovphase.experiment.run_experiment`
  takes an :class:`~markovphase.experiment.ExperimentConfig`);
* the command: :mod:`markovphase.cli.sample`;
* :func:`~markovphase.sampling.parse_time_spacing` (raises ``ValueError`` now).

Every name here still works for one release, with a ``FutureWarning``; this
module will then be removed.
"""

from __future__ import annotations

import warnings

from .compat import moved_names

__getattr__ = moved_names(__name__, {
    "preset_schedules": "markovphase.experiment",
    "denoiser_gap": "markovphase.experiment",
    "gap_schedule": "markovphase.experiment",
    "write_outputs": "markovphase.experiment",
    "plot_samples": "markovphase.experiment",
    "PRESETS": "markovphase.experiment",
    "GAP_MEASURES": "markovphase.experiment",
    "parse_time_spacing": "markovphase.sampling",
    "sample_command": "markovphase.cli.sample",
})


def run_experiment(dataset="mnist", dataset_params=None, *, verbose=0, out_dir=None, **settings):
    """Deprecated: build an :class:`~markovphase.experiment.ExperimentConfig` and call
    :func:`markovphase.experiment.run_experiment`.

    Takes the flat keywords of markovphase 0.1 (``n_train``, ``radius``,
    ``denoiser_params``, ``gap_radii``, ``sample_random_state``, ...; see
    :meth:`~markovphase.experiment.ExperimentConfig.from_flat`).
    """
    from .experiment import ExperimentConfig
    from .experiment import run_experiment as run

    warnings.warn("markovphase.sample_cli.run_experiment is deprecated and will be removed in the "
                  "next release; call markovphase.experiment.run_experiment with an "
                  "ExperimentConfig", FutureWarning, stacklevel=2)
    config = ExperimentConfig.from_flat(dataset=dataset, dataset_params=dataset_params,
                                        **settings)
    return run(config, verbose=verbose, out_dir=out_dir)
